/**
 * The embedded durable-execution engine: drives the app's Inngest functions through the app's own
 * /api/inngest endpoint with the SDK's protocol, keeping all state in the app's Postgres. Several
 * processes on one database share the queue; each calls the app URL of its own configuration.
 */
import "server-only";
import type postgres from "postgres";
import { Agent } from "undici";
import type { Database } from "@/db/client";
import { createDatabase } from "@/db/client";
import type { Logger } from "@/server/logger";
import type { EngineContext } from "./executor";
import { ingestEvents, type IncomingEvent } from "./ingest";
import { INNGEST_LIMITS, type EngineLimits } from "./limits";
import { PROCESS_IDENTITY } from "./queue";
import { FunctionCache, registerFunctions } from "./registry";
import type { RetentionPolicy } from "./retention";
import { createEngineServer, listen } from "./server";
import { WorkerPool } from "./worker";

export interface EngineOptions {
  databaseUrl: string;
  /** Loopback port of the engine's API (0: any free port). */
  port: number;
  /** The app's Inngest endpoint, e.g. http://127.0.0.1:3000/api/inngest. Every call goes here. */
  appUrl: string;
  signingKey: string;
  eventKey: string;
  workers: number;
  backoffBaseMs: number;
  requestTimeoutMs: number;
  /** How long a claimed job stays ours without renewal; a dead process's jobs are taken over after it. */
  leaseMs?: number;
  retention?: RetentionPolicy;
  /** Inngest's limits by default; tests and operators may raise them for the embedded engine only. */
  limits?: Partial<EngineLimits>;
  log: Logger;
  /** Sees every statement the engine sends (the benchmark counts them). */
  onQuery?: (query: string, connection: number) => void;
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
  /** The engine's own pool, for postgres.js statements (sql.ts). */
  sql: postgres.Sql;
  workers: WorkerPool;
}

export const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_RETENTION: RetentionPolicy = { days: 7, failedDays: 30 };

export function backoff(baseMs: number) {
  // Exponential with full jitter, capped at an hour: 1×, 2×, 4×, … the base.
  return (attempt: number) => Math.round(Math.min(3_600_000, baseMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
}

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const log = options.log.child({ component: "engine" });
  // Short transactions only: a worker, the listener, event ingestion and a spare. lock_timeout turns a
  // locking mistake into an error instead of a hang.
  const { db, sql } = createDatabase(options.databaseUrl, {
    max: options.workers + 3,
    connection: { application_name: "wire-engine", lock_timeout: 10_000, idle_in_transaction_session_timeout: 60_000 },
    onQuery: options.onQuery,
  });
  const state: EngineState = { ready: false, functions: 0, error: null };
  const limits = { ...INNGEST_LIMITS, ...options.limits };
  const functions = new FunctionCache(db);
  const ingest = (events: IncomingEvent[], seed: string | null) => ingestEvents(sql, functions, limits, events, seed);

  const server = createEngineServer({
    signingKey: options.signingKey,
    eventKey: options.eventKey,
    log,
    ingest,
    register: async (appId, configs) => {
      try {
        const compiled = await registerFunctions(db, appId, configs);
        functions.invalidate();
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

  const dispatcher = new Agent({
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
    connections: options.workers * 2,
  });
  const ctx: EngineContext = {
    sql,
    db,
    appUrl: options.appUrl,
    signingKey: options.signingKey,
    log,
    limits,
    leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS,
    requestTimeoutMs: options.requestTimeoutMs,
    backoffMs: backoff(options.backoffBaseMs),
    functions,
    owner: PROCESS_IDENTITY,
    dispatcher,
    onRunFailed: async (run, error) => {
      await ingest(
        [
          {
            name: "inngest/function.failed",
            data: { function_id: run.functionId, run_id: run.id, error, event: run.event },
          },
        ],
        null,
      );
    },
  };
  const workers = new WorkerPool(ctx, {
    concurrency: options.workers,
    maxIdleMs: 10_000,
    retention: options.retention ?? DEFAULT_RETENTION,
    log,
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
  log.info({ port, appUrl: options.appUrl, workers: options.workers }, "engine: started");

  return {
    port,
    state,
    db,
    sql,
    workers,
    sync,
    async stop() {
      stopped = true;
      await workers.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dispatcher.close();
      await sql.end({ timeout: 5 });
    },
  };
}
