/**
 * Start-up work that must finish before the app serves requests: the embedded database (when no
 * DATABASE_URL is configured), pending migrations, and the embedded durable-execution engine (when no
 * INNGEST_* variable configures a real Inngest). Called from instrumentation.ts, once per process.
 */
import "server-only";
import { databaseUrl, EMBEDDED_DATABASE, usesEmbeddedDatabase } from "@/db/connection";
import { startEmbeddedPostgres } from "@/db/embedded";
import { migrateDatabase } from "@/db/migrate";
import { startEngine } from "@/inngest/engine";
import { embeddedEngineKeys, engineMode } from "@/inngest/engine/config";
import { setRunningEngine } from "@/inngest/engine/status";
import { eventOutbox } from "@/inngest/outbox";
import { prepareDataDir } from "./data-dir";
import { env } from "./env";
import { readOrCreateSecret } from "./local-secrets";
import { logger } from "./logger";

const state = globalThis as unknown as { __wireBoot?: Promise<void> };

export function boot(): Promise<void> {
  state.__wireBoot ??= run();
  return state.__wireBoot;
}

async function run(): Promise<void> {
  const config = env();
  prepareDataDir(config.dataDir);
  if (usesEmbeddedDatabase()) {
    const started = Date.now();
    const pgLog = logger.child({ component: "embedded-postgres" });
    await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.WIRE_EMBEDDED_PG_PORT,
      password: readOrCreateSecret(config.dataDir, "postgres-password"),
      database: EMBEDDED_DATABASE,
      onLog: (message) => pgLog.debug(message.trim()),
    });
    logger.info({ port: config.WIRE_EMBEDDED_PG_PORT, ms: Date.now() - started }, "embedded PostgreSQL ready");
  }
  await migrateDatabase(databaseUrl());
  logger.info("database migrated");
  if (engineMode() === "embedded") await startEmbeddedEngine(config);
  // Events recorded before a crash (or while the engine was unreachable) go out now and every few seconds.
  eventOutbox().start();
}

async function startEmbeddedEngine(config: ReturnType<typeof env>) {
  const engine = await startEngine({
    databaseUrl: databaseUrl(),
    port: config.WIRE_ENGINE_PORT,
    appUrl: config.WIRE_ENGINE_APP_URL ?? new URL("/api/inngest", config.WIRE_PUBLIC_URL).toString(),
    ...embeddedEngineKeys(config.dataDir),
    workers: config.WIRE_ENGINE_WORKERS,
    backoffBaseMs: config.WIRE_ENGINE_BACKOFF_MS,
    requestTimeoutMs: config.WIRE_ENGINE_REQUEST_TIMEOUT_MS,
    retention: { days: config.WIRE_ENGINE_RETENTION_DAYS, failedDays: config.WIRE_ENGINE_FAILED_RETENTION_DAYS },
    log: logger,
  });
  // No shutdown hook needed: a call in flight when the process ends loses its lease, and another process
  // (or this one, restarted) takes the job over once the lease expires.
  setRunningEngine(engine);
}
