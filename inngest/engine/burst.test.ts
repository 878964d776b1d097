/**
 * Bursts at the size that wedged the old engine and beyond: every run completes, and concurrency limits
 * hold, measured from the calls the engine recorded (each attempt's start and duration).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type postgres from "postgres";
import { startHarness, until, type Harness } from "./test/harness";

let h: Harness;

beforeAll(async () => {
  h = await startHarness(
    (client) => {
      // Built before returning: inside startHarness's call, InngestFunction.Any[] would type the handlers' context as any.
      const fns = [
        client.createFunction(
          { id: "limited", concurrency: { limit: 4 }, triggers: [{ event: "test/limited" }] },
          async ({ event, step }) =>
            step.run("work", async () => {
              await new Promise((r) => setTimeout(r, 2));
              return event.data.n as number;
            }),
        ),
        client.createFunction(
          { id: "keyed", concurrency: { limit: 2, key: "event.data.key" }, triggers: [{ event: "test/keyed" }] },
          async ({ event, step }) => {
            await step.run("first", () => new Promise((r) => setTimeout(r, 2)));
            return step.run("second", () => event.data.n as number);
          },
        ),
      ];
      return fns;
    },
    { workers: 4 },
  );
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

/** The most calls of one function (per concurrency key) that were in progress at the same moment. */
export async function peakCalls(sql: postgres.Sql, functionId: string): Promise<Map<string, number>> {
  const rows = await sql<{ key: string; peak: number }[]>`
    with calls as (
      select distinct coalesce(r.concurrency_key, '') as key, a.run_id, a.started_at,
        a.started_at + make_interval(secs => a.duration_ms / 1000.0) as ended_at
      from engine_attempts a join engine_runs r on r.id = a.run_id
      where r.function_id = ${functionId} and a.outcome <> 'lease_expired'
    ),
    edges as (select key, started_at as at, 1 as d from calls union all select key, ended_at, -1 from calls),
    running as (select key, sum(d) over (partition by key order by at, d) as n from edges)
    select key, max(n)::int as peak from running group by key`;
  return new Map(rows.map((r) => [r.key, r.peak]));
}

async function completed(functionId: string) {
  const [row] = await h.engine.sql<
    { n: number }[]
  >`select count(*)::int as n from engine_runs where function_id = ${functionId} and status = 'completed'`;
  return row!.n;
}

it("completes a burst of 5,000 events into a function limited to 4, never more than 4 calls at once", async () => {
  const fn = `${h.appId}-limited`;
  await h.client.send(Array.from({ length: 5000 }, (_, n) => ({ name: "test/limited", data: { n } })));
  await until(async () => (await completed(fn)) === 5000, 240_000, "5,000 runs");
  const peak = (await peakCalls(h.engine.sql, fn)).get("")!;
  expect(peak).toBeGreaterThan(1);
  expect(peak).toBeLessThanOrEqual(4);
  const [left] = await h.engine.sql`select count(*)::int as n from engine_jobs`;
  expect(left!.n).toBe(0);
}, 260_000);

it("completes 2,000 events over 10 keys limited to 2 each, never more than 2 calls of a key at once", async () => {
  const fn = `${h.appId}-keyed`;
  // Keys in blocks of 200 events, so workers pile onto a key and its limit is what holds them back.
  await h.client.send(
    Array.from({ length: 2000 }, (_, n) => ({ name: "test/keyed", data: { n, key: `k${Math.floor(n / 200)}` } })),
  );
  await until(async () => (await completed(fn)) === 2000, 240_000, "2,000 runs");
  const peaks = await peakCalls(h.engine.sql, fn);
  expect(peaks.size).toBe(10);
  for (const [, peak] of peaks) expect(peak).toBeLessThanOrEqual(2);
  expect(Math.max(...peaks.values())).toBe(2);
}, 260_000);
