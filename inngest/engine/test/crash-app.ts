/**
 * A separate process for the crash test: the same handler as /api/inngest serving one multi-step
 * function, plus the embedded engine, both configured from the environment the test passes in.
 */
import { Inngest } from "inngest";
import postgres from "postgres";
import { embeddedClientOptions } from "../config";
import { serveWithEngine } from "./child-process";

const { CRASH_DATABASE_URL, CRASH_ENGINE_PORT, CRASH_APP_PORT, CRASH_SIGNING_KEY, CRASH_EVENT_KEY } =
  process.env as Record<string, string>;
const keys = { signingKey: CRASH_SIGNING_KEY!, eventKey: CRASH_EVENT_KEY! };
const sql = postgres(CRASH_DATABASE_URL!, { max: 2, onnotice: () => {} });
const client = new Inngest({ id: "crash-test", ...embeddedClientOptions(keys, Number(CRASH_ENGINE_PORT)) });

const STEPS = 5;

const multiStep = client.createFunction(
  { id: "multi-step", triggers: [{ event: "test/crash" }] },
  async ({ event, step }) => {
    for (let i = 1; i <= STEPS; i++) {
      // Each step's side effect is counted, so a step that ran twice shows up.
      await step.run(`step ${i}`, () =>
        sql`insert into crash_effects (run_key, step) values (${event.data.key as string}, ${i})`.then(() => i),
      );
      await step.sleep(`pause ${i}`, "400ms");
    }
    return "finished";
  },
);

/**
 * The burst function: limited like process-file, two steps whose work is idempotent (as Wire's steps are:
 * keyed by the event), each counting how often its body ran.
 */
const burst = client.createFunction(
  { id: "burst", concurrency: { limit: 4 }, triggers: [{ event: "test/burst" }] },
  async ({ event, step }) => {
    for (const part of [1, 2]) {
      await step.run(`part ${part}`, async () => {
        await sql`
        insert into crash_burst (run_key, step) values (${event.data.key as string}, ${part})
        on conflict (run_key, step) do update set executions = crash_burst.executions + 1`;
        await new Promise((r) => setTimeout(r, 5));
      });
    }
  },
);

await serveWithEngine({
  functions: [multiStep, burst],
  leaseMs: Number(process.env.CRASH_LEASE_MS ?? 30_000),
  workers: Number(process.env.CRASH_WORKERS ?? 2),
  client,
  databaseUrl: CRASH_DATABASE_URL!,
  enginePort: Number(CRASH_ENGINE_PORT),
  appPort: Number(CRASH_APP_PORT),
  keys,
});
