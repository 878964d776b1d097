/**
 * A real app endpoint + the embedded engine, for engine tests: the functions under test are served by
 * the same handler the app's /api/inngest route uses, over real HTTP, with a database of their own.
 */
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { Inngest, type InngestFunction } from "inngest";
import postgres from "postgres";
import { engineRuns } from "@/db/schema";
import { logger } from "@/server/logger";
import { createIsolatedDatabase } from "@/server/test/databases";
import { freePort } from "@/server/test/global-setup";
import { embeddedClientOptions } from "../config";
import { inngestHandlers } from "../../serve";
import { startEngine, type Engine, type EngineOptions } from "..";
import { listen } from "../server";
import { serveRoute } from "./serve-route";

export type TestClient = Inngest<{ id: string }>;

export interface Harness {
  client: TestClient;
  /** Prefix of the function ids the SDK registers: `${appId}-${functionId}`. */
  appId: string;
  engine: Engine;
  appUrl: string;
  databaseUrl: string;
  keys: { signingKey: string; eventKey: string };
  waitForRun(
    functionId: string,
    predicate?: (run: typeof engineRuns.$inferSelect) => boolean,
    timeoutMs?: number,
  ): Promise<typeof engineRuns.$inferSelect>;
  runsOf(functionId: string): Promise<(typeof engineRuns.$inferSelect)[]>;
  stop(): Promise<void>;
}

export function testKeys() {
  return { signingKey: `signkey-test-${randomBytes(32).toString("hex")}`, eventKey: randomBytes(16).toString("hex") };
}

export async function startHarness(
  define: (client: TestClient) => InngestFunction.Any[],
  options: Partial<Pick<EngineOptions, "workers" | "backoffBaseMs" | "requestTimeoutMs" | "leaseMs" | "limits">> = {},
): Promise<Harness> {
  const database = await createIsolatedDatabase("engine");
  const keys = testKeys();
  const enginePort = await freePort();
  const appId = `engine-test-${randomBytes(3).toString("hex")}`;
  const client = new Inngest({ id: appId, ...embeddedClientOptions(keys, enginePort), logger: silentLogger() });
  const lockSql = postgres(database.url, { max: 1, onnotice: () => {} });
  const handlers = inngestHandlers(define(client), { client, lockDatabase: () => lockSql });
  const app = serveRoute(handlers as unknown as Record<string, (req: Request) => Promise<Response>>);
  const appPort = await listen(app, 0);
  const appUrl = `http://127.0.0.1:${appPort}/api/inngest`;
  const engine = await startEngine({
    databaseUrl: database.url,
    port: enginePort,
    appUrl,
    ...keys,
    workers: options.workers ?? 4,
    backoffBaseMs: options.backoffBaseMs ?? 20,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    leaseMs: options.leaseMs,
    limits: options.limits,
    log: logger,
  });
  await until(() => engine.state.ready || engine.state.error !== null, 15_000, "the app to register");

  const runsOf = (functionId: string) =>
    engine.db
      .select()
      .from(engineRuns)
      .where(eq(engineRuns.functionId, `${appId}-${functionId}`));
  return {
    client,
    appId,
    engine,
    appUrl,
    databaseUrl: database.url,
    keys,
    runsOf,
    async waitForRun(
      functionId,
      predicate = (run) => ["completed", "failed", "cancelled"].includes(run.status),
      timeoutMs = 15_000,
    ) {
      let found: typeof engineRuns.$inferSelect | undefined;
      await until(
        async () => {
          found = (await runsOf(functionId)).find(predicate);
          return Boolean(found);
        },
        timeoutMs,
        `a run of ${functionId}`,
      );
      return found!;
    },
    async stop() {
      await engine.stop();
      await new Promise<void>((resolve) => app.close(() => resolve()));
      app.closeAllConnections();
      await handlers.close();
      await lockSql.end({ timeout: 5 });
      await database.drop();
    },
  };
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function silentLogger() {
  const noop = () => {};
  return { info: noop, warn: noop, error: noop, debug: noop };
}
