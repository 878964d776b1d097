/**
 * The embedded durable-execution engine: drives the app's Inngest functions through the app's own
 * /api/inngest endpoint with the SDK's protocol, keeping all state in the app's Postgres.
 */
import type { Database } from "@/db/client";
import { createDatabase } from "@/db/client";
import type { Logger } from "@/server/logger";
import { ingestEvents } from "./ingest";
import { registerFunctions } from "./registry";
import { createEngineServer, listen } from "./server";
import { WorkerPool } from "./worker";

export interface EngineOptions {
  databaseUrl: string;
  /** Loopback port of the engine's API (0: any free port). */
  port: number;
  /** The app's Inngest endpoint, e.g. http://127.0.0.1:3000/api/inngest. */
  appUrl: string;
  signingKey: string;
  eventKey: string;
  workers: number;
  backoffBaseMs: number;
  requestTimeoutMs: number;
  log: Logger;
}

export interface EngineState {
  ready: boolean;
  functions: number;
  error: string | null;
}

export interface Engine {
  port: number;
  state: EngineState;
  /** Asks the app to register its functions again (PUT /api/inngest), retrying until it answers. */
  sync(): Promise<void>;
  stop(): Promise<void>;
  db: Database;
}

export function backoff(baseMs: number) {
  // Exponential with full jitter, capped at an hour: 1×, 2×, 4×, … the base.
  return (attempt: number) => Math.round(Math.min(3_600_000, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
}

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const log = options.log.child({ component: "engine" });
  const { db, sql } = createDatabase(options.databaseUrl, { max: options.workers * 2 + 4 }) // a job transaction + a slot transaction per worker, plus listen and ingest;
  const state: EngineState = { ready: false, functions: 0, error: null };
  const ingest = (events: Parameters<typeof ingestEvents>[1], seed: string | null) => ingestEvents(db, events, seed);

  const server = createEngineServer({
    signingKey: options.signingKey,
    eventKey: options.eventKey,
    log,
    ingest,
    register: async (appId, functions) => {
      try {
        const compiled = await registerFunctions(db, appId, functions);
        Object.assign(state, { ready: true, functions: compiled.length, error: null });
        log.info({ functions: compiled.map((f) => f.id) }, "engine: functions registered");
      } catch (error) {
        Object.assign(state, { ready: false, error: (error as Error).message });
        log.error({ err: error }, "engine: registration refused");
        throw error;
      }
    },
  });
  const port = await listen(server, options.port);

  const workers = new WorkerPool(db, sql, {
    concurrency: options.workers,
    pollMs: 1000,
    log,
    executor: {
      db,
      signingKey: options.signingKey,
      log,
      backoffMs: backoff(options.backoffBaseMs),
      requestTimeoutMs: options.requestTimeoutMs,
      onRunFailed: async (run, error) => {
        await ingest([{ name: "inngest/function.failed", data: { function_id: run.functionId, run_id: run.id, error, event: run.event } }], null);
      },
    },
  });
  await workers.start();

  let stopped = false;
  const sync = async () => {
    for (let attempt = 1; !stopped; attempt++) {
      const response = await fetch(options.appUrl, { method: "PUT" }).catch((error: unknown) => error as Error);
      if (response instanceof Response && response.ok) return;
      const reason = response instanceof Response ? `${response.status} ${await response.text()}` : response.message;
      if (state.error) return; // the app answered, but registration was refused: retrying will not help
      if (attempt % 20 === 0) log.warn({ reason, appUrl: options.appUrl }, "engine: app not reachable for sync yet");
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
    }
  };
  void sync();
  log.info({ port, appUrl: options.appUrl }, "engine: started");

  return {
    port,
    state,
    db,
    sync,
    async stop() {
      stopped = true;
      await workers.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.end({ timeout: 5 });
    },
  };
}
