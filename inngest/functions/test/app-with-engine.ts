/**
 * The app's real functions served over HTTP with the embedded engine, in the test process, on the shared
 * test database. The app's Inngest client reads its engine port when first imported: set
 * process.env.WIRE_ENGINE_PORT (a free port) before importing anything of the app, then call this.
 */
import { startEngine } from "@/inngest/engine";
import { embeddedEngineKeys } from "@/inngest/engine/config";
import { listen } from "@/inngest/engine/server";
import { until } from "@/inngest/engine/test/harness";
import { serveRoute } from "@/inngest/engine/test/serve-route";
import { functions } from "@/inngest/functions";
import { inngestHandlers } from "@/inngest/serve";
import { logger } from "@/server/logger";

export async function startAppWithEngine(options: { workers?: number; requestTimeoutMs?: number } = {}) {
  const app = serveRoute(inngestHandlers(functions) as never);
  const appPort = await listen(app, 0);
  const engine = await startEngine({
    databaseUrl: process.env.DATABASE_URL!,
    port: Number(process.env.WIRE_ENGINE_PORT),
    appUrl: `http://127.0.0.1:${appPort}/api/inngest`,
    ...embeddedEngineKeys(),
    workers: options.workers ?? 4,
    backoffBaseMs: 50,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    log: logger,
  });
  await until(() => engine.state.ready, 15_000, "the app's functions to register");
  return {
    engine,
    stop: async () => {
      await engine.stop();
      app.close();
    },
  };
}
