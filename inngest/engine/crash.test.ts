/**
 * Durability: the app process (engine + function endpoint) is SIGKILLed in the middle of a multi-step run
 * and started again; the run completes from its last completed step and no step body runs twice.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Inngest } from "inngest";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createIsolatedDatabase } from "@/server/test/databases";
import { freePort } from "@/server/test/global-setup";
import { embeddedClientOptions } from "./config";
import { testKeys, until } from "./test/harness";
import { spawnReadyChild } from "./test/child-process";

let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let sql: postgres.Sql;
let child: ChildProcess | undefined;
const keys = testKeys();
let env: Record<string, string>;

const startApp = () => spawnReadyChild("inngest/engine/test/crash-app.ts", env);

beforeAll(async () => {
  database = await createIsolatedDatabase("crash");
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  await sql`create table crash_effects (run_key text not null, step int not null)`;
  env = {
    CRASH_DATABASE_URL: database.url,
    CRASH_ENGINE_PORT: String(await freePort()),
    CRASH_APP_PORT: String(await freePort()),
    CRASH_SIGNING_KEY: keys.signingKey,
    CRASH_EVENT_KEY: keys.eventKey,
  };
}, 60_000);

afterAll(async () => {
  child?.kill("SIGKILL");
  await sql?.end();
  await database?.drop();
});

it("resumes a run after the process is killed mid-run, running each completed step exactly once", async () => {
  child = await startApp();
  const client = new Inngest({ id: "crash-test", ...embeddedClientOptions(keys, Number(env.CRASH_ENGINE_PORT)) });
  const key = randomUUID();
  await client.send({ name: "test/crash", data: { key } });

  // Kill while the run sleeps after its second step: steps 1 and 2 are recorded as done (so neither is in
  // flight), the run waits on its second pause, and step 3 has not started.
  await until(
    async () => {
      const [row] = await sql`
      select (select count(*)::int from crash_effects where run_key = ${key}) as effects,
             (select count(*)::int from engine_steps where op = 'StepRun') as completed,
             (select count(*)::int from engine_jobs where kind = 'wake') as sleeping`;
      return row!.effects === 2 && row!.completed === 2 && row!.sleeping === 1;
    },
    20_000,
    "the run to sleep after step 2",
  );
  child.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));
  const [run] = await sql`select status from engine_runs`;
  expect(run!.status).toBe("running");

  child = await startApp();
  await until(
    async () => (await sql`select status from engine_runs`)[0]!.status === "completed",
    30_000,
    "the run to complete after restart",
  );

  const [done] = await sql`select output from engine_runs`;
  expect(done!.output).toBe("finished");
  const effects = await sql<
    { step: number; n: number }[]
  >`select step, count(*)::int as n from crash_effects where run_key = ${key} group by step order by step`;
  expect(effects.map((e) => [e.step, e.n])).toEqual([1, 2, 3, 4, 5].map((step) => [step, 1]));
}, 90_000);

it("two processes share a burst of 5,000; one is SIGKILLed mid-step three times; every run completes, each step's work done once", async () => {
  await sql`create table crash_burst (run_key text not null, step int not null, executions int not null default 1, primary key (run_key, step))`;
  const shared = { ...env, CRASH_LEASE_MS: "2000", CRASH_WORKERS: "4" };
  const steady = await spawnReadyChild("inngest/engine/test/crash-app.ts", {
    ...shared,
    CRASH_ENGINE_PORT: String(await freePort()),
    CRASH_APP_PORT: String(await freePort()),
  });
  const victimEnv = {
    ...shared,
    CRASH_ENGINE_PORT: String(await freePort()),
    CRASH_APP_PORT: String(await freePort()),
  };
  let victim = await spawnReadyChild("inngest/engine/test/crash-app.ts", victimEnv);
  try {
    const client = new Inngest({ id: "crash-test", ...embeddedClientOptions(keys, Number(env.CRASH_ENGINE_PORT)) });
    await client.send(Array.from({ length: 5000 }, () => ({ name: "test/burst", data: { key: randomUUID() } })));

    let lostCalls = 0;
    for (let kill = 1; kill <= 3; kill++) {
      // Mid-step: the victim holds leases on calls in flight.
      const holder = `%:${victim.pid}`;
      await until(
        async () => {
          const [row] =
            await sql`select count(*)::int as n from engine_jobs where leased_by like ${holder} and due_at > now()`;
          return row!.n > 0;
        },
        60_000,
        `the victim to be mid-step (kill ${kill})`,
      );
      victim.kill("SIGKILL");
      await new Promise((resolve) => victim.once("exit", resolve));
      const [held] = await sql<
        { n: number }[]
      >`select count(*)::int as n from engine_jobs where leased_by like ${holder}`;
      lostCalls += held!.n;
      victim = await spawnReadyChild("inngest/engine/test/crash-app.ts", victimEnv);
    }

    await until(
      async () => {
        const [row] =
          await sql`select count(*)::int as n from engine_runs where function_id = 'crash-test-burst' and status = 'completed'`;
        return row!.n === 5000;
      },
      240_000,
      "5,000 runs to complete",
    );

    const [effects] = await sql`select count(*)::int as n, sum(executions - 1)::int as repeated from crash_burst`;
    expect(effects!.n).toBe(10_000); // both steps of every run did their work…
    // …and a step body ran again only where a killed process's call was lost mid-step.
    expect(effects!.repeated).toBeLessThanOrEqual(lostCalls);
    const [takenOver] = await sql`select count(*)::int as n from engine_attempts where outcome = 'lease_expired'`;
    expect(takenOver!.n).toBeGreaterThan(0);
    expect(takenOver!.n).toBeLessThanOrEqual(lostCalls);
    const [left] = await sql`select count(*)::int as n from engine_jobs`;
    expect(left!.n).toBe(0);
  } finally {
    steady.kill("SIGKILL");
    victim.kill("SIGKILL");
  }
}, 400_000);
