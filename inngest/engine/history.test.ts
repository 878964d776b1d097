/**
 * What operators rely on besides running jobs: old history is pruned (failed runs kept longer), and the
 * queue's health says when jobs that could run are not being taken.
 */
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { createIsolatedDatabase } from "@/server/test/databases";
import { pruneHistory } from "./retention";
import { queueHealth } from "./status";

let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createIsolatedDatabase("history");
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

beforeEach(async () => {
  await sql`truncate engine_runs, engine_events cascade`;
});

async function run(
  status: string,
  endedDaysAgo: number | null,
  jobs: { dueSecondsAgo: number; leased?: boolean; limit?: number }[] = [],
) {
  const id = randomUUID();
  await sql`
    insert into engine_runs (id, function_id, event_id, event, status, ended_at)
    values (${id}, 'fn', 'e', '{}'::jsonb, ${status}, ${endedDaysAgo === null ? null : sql`now() - ${endedDaysAgo} * interval '1 day'`})`;
  await sql`insert into engine_steps (run_id, id, op, result) values (${id}, 'step', 'StepRun', '{"data":1}')`;
  for (const [n, job] of jobs.entries()) {
    await sql`
      insert into engine_jobs (run_id, function_id, kind, step_id, concurrency_limit, due_at, lease_token)
      values (${id}, 'fn', 'step', ${String(n)}, ${job.limit ?? null},
        ${job.leased ? sql`now() + interval '60 seconds'` : sql`now() - ${job.dueSecondsAgo} * interval '1 second'`}, ${job.leased ? "token" : null})`;
  }
  return id;
}

it("prunes ended runs with their steps, and events, after the retention period; failed runs later", async () => {
  const kept = await run("completed", 6);
  const old = await run("completed", 8);
  const cancelled = await run("cancelled", 8);
  const failedRecently = await run("failed", 8);
  const failedLongAgo = await run("failed", 31);
  const running = await run("running", null);
  await sql`insert into engine_events (id, name, data, ts, received_at) values
    ('new', 'x', '{}', 0, now() - interval '6 days'), ('old', 'x', '{}', 0, now() - interval '8 days')`;

  expect(await pruneHistory(sql, { days: 7, failedDays: 30 })).toEqual({ runs: 3, events: 1 });

  const runs = (await sql<{ id: string }[]>`select id from engine_runs`).map((r) => r.id).sort();
  expect(runs).toEqual([kept, failedRecently, running].sort());
  expect(runs).not.toContain(old);
  expect(runs).not.toContain(cancelled);
  expect(runs).not.toContain(failedLongAgo);
  const [steps] = await sql`select count(*)::int as n from engine_steps`;
  expect(steps!.n).toBe(3);
  expect((await sql<{ id: string }[]>`select id from engine_events`).map((e) => e.id)).toEqual(["new"]);
});

it("reports the queue degraded when a job with a free slot waits for a worker, not when it waits for its slot", async () => {
  await run("running", null, [{ dueSecondsAgo: 5 }]);
  expect(await queueHealth(sql, 120_000)).toMatchObject({ degraded: false, due: 1 });

  await sql`truncate engine_runs cascade`;
  await run("running", null, [{ dueSecondsAgo: 300 }]);
  const stuck = await queueHealth(sql, 120_000);
  expect(stuck.degraded).toBe(true);
  expect(stuck.oldestDueMs).toBeGreaterThanOrEqual(300_000);
  expect(stuck.reasons[0]).toMatch(/waited 30\d s for a worker/);

  // A burst into a function limited to one: the queued job waits for the slot its sibling holds, by design.
  await sql`truncate engine_runs cascade`;
  await run("running", null, [
    { dueSecondsAgo: 300, leased: true, limit: 1 },
    { dueSecondsAgo: 300, limit: 1 },
  ]);
  expect(await queueHealth(sql, 120_000)).toMatchObject({ degraded: false, running: 1, waitingForSlot: 1, due: 0 });
});
