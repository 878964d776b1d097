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
import { embeddedClientOptions } from "../engine-config";
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
  await until(async () => {
    const [row] = await sql`
      select (select count(*)::int from crash_effects where run_key = ${key}) as effects,
             (select count(*)::int from engine_steps where op = 'StepRun') as completed,
             (select count(*)::int from engine_jobs where kind = 'wake') as sleeping`;
    return row!.effects === 2 && row!.completed === 2 && row!.sleeping === 1;
  }, 20_000, "the run to sleep after step 2");
  child.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));
  const [run] = await sql`select status from engine_runs`;
  expect(run!.status).toBe("running");

  child = await startApp();
  await until(async () => (await sql`select status from engine_runs`)[0]!.status === "completed", 30_000, "the run to complete after restart");

  const [done] = await sql`select output from engine_runs`;
  expect(done!.output).toBe("finished");
  const effects = await sql`select step, count(*)::int as n from crash_effects where run_key = ${key} group by step order by step`;
  expect(effects.map((e) => [e.step, e.n])).toEqual([1, 2, 3, 4, 5].map((step) => [step, 1]));
}, 90_000);
