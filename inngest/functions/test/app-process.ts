/**
 * The app's background half in a process of its own, for crash tests: the real functions served by the
 * same handler as /api/inngest, and the embedded engine, configured from the environment
 * (DATABASE_URL, WIRE_DATA_DIR, WIRE_ENGINE_PORT, APP_PORT). Prints "ready" once the functions are registered.
 */
import { startEngine } from "@/inngest/engine";
import { embeddedEngineKeys } from "@/inngest/engine-config";
import { listen } from "@/inngest/engine/server";
import { serveRoute } from "@/inngest/engine/test/serve-route";
import { functions } from "@/inngest/functions";
import { inngestHandlers } from "@/inngest/serve";
import { env } from "@/server/env";
import { logger } from "@/server/logger";

const appPort = Number(process.env.APP_PORT);
await listen(serveRoute(inngestHandlers(functions) as never), appPort);
const engine = await startEngine({
  databaseUrl: env().DATABASE_URL!,
  port: env().WIRE_ENGINE_PORT,
  appUrl: `http://127.0.0.1:${appPort}/api/inngest`,
  ...embeddedEngineKeys(),
  workers: 2,
  backoffBaseMs: 50,
  requestTimeoutMs: 30_000,
  log: logger,
});
while (!engine.state.ready) await new Promise((r) => setTimeout(r, 20));
process.stdout.write("ready\n");
