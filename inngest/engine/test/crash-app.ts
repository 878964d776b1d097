/**
 * A separate process for the crash test: the same handler as /api/inngest serving one multi-step
 * function, plus the embedded engine, both configured from the environment the test passes in.
 */
import { Inngest } from "inngest";
import postgres from "postgres";
import { embeddedClientOptions } from "../../engine-config";
import { serveWithEngine } from "./child-process";

const { CRASH_DATABASE_URL, CRASH_ENGINE_PORT, CRASH_APP_PORT, CRASH_SIGNING_KEY, CRASH_EVENT_KEY } = process.env as Record<string, string>;
const keys = { signingKey: CRASH_SIGNING_KEY!, eventKey: CRASH_EVENT_KEY! };
const sql = postgres(CRASH_DATABASE_URL!, { max: 2, onnotice: () => {} });
const client = new Inngest({ id: "crash-test", ...embeddedClientOptions(keys, Number(CRASH_ENGINE_PORT)) });

const STEPS = 5;

const multiStep = client.createFunction({ id: "multi-step", triggers: [{ event: "test/crash" }] }, async ({ event, step }) => {
  for (let i = 1; i <= STEPS; i++) {
    // Each step's side effect is counted, so a step that ran twice shows up.
    await step.run(`step ${i}`, () => sql`insert into crash_effects (run_key, step) values (${event.data.key as string}, ${i})`.then(() => i));
    await step.sleep(`pause ${i}`, "400ms");
  }
  return "finished";
});

await serveWithEngine({
  functions: [multiStep],
  client,
  databaseUrl: CRASH_DATABASE_URL!,
  enginePort: Number(CRASH_ENGINE_PORT),
  appPort: Number(CRASH_APP_PORT),
  keys,
});
