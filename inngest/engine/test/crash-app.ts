/**
 * A separate process for the crash test: the same handler as /api/inngest serving one multi-step
 * function, plus the embedded engine, both configured from the environment the test passes in.
 */
import { Inngest } from "inngest";
import postgres from "postgres";
import { logger } from "@/server/logger";
import { embeddedClientOptions } from "../../engine-config";
import { inngestHandlers } from "../../serve";
import { startEngine } from "..";
import { listen } from "../server";
import { serveRoute } from "./serve-route";

const { CRASH_DATABASE_URL, CRASH_ENGINE_PORT, CRASH_APP_PORT, CRASH_SIGNING_KEY, CRASH_EVENT_KEY } = process.env as Record<string, string>;
const keys = { signingKey: CRASH_SIGNING_KEY!, eventKey: CRASH_EVENT_KEY! };
const sql = postgres(CRASH_DATABASE_URL!, { max: 2, onnotice: () => {} });
const client = new Inngest({ id: "crash-test", ...embeddedClientOptions(keys, Number(CRASH_ENGINE_PORT)) });

export const STEPS = 5;

const multiStep = client.createFunction({ id: "multi-step", triggers: [{ event: "test/crash" }] }, async ({ event, step }) => {
  for (let i = 1; i <= STEPS; i++) {
    // Each step's side effect is counted, so a step that ran twice shows up.
    await step.run(`step ${i}`, () => sql`insert into crash_effects (run_key, step) values (${event.data.key as string}, ${i})`.then(() => i));
    await step.sleep(`pause ${i}`, "400ms");
  }
  return "finished";
});

const app = serveRoute(inngestHandlers([multiStep], client) as never);
await listen(app, Number(CRASH_APP_PORT));
const engine = await startEngine({
  databaseUrl: CRASH_DATABASE_URL!,
  port: Number(CRASH_ENGINE_PORT),
  appUrl: `http://127.0.0.1:${CRASH_APP_PORT}/api/inngest`,
  ...keys,
  workers: 2,
  backoffBaseMs: 50,
  requestTimeoutMs: 30_000,
  log: logger,
});
while (!engine.state.ready) await new Promise((r) => setTimeout(r, 20));
process.stdout.write("ready\n");
