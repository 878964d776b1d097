/** Where the database is: DATABASE_URL when set, else the embedded PostgreSQL under WIRE_DATA_DIR. */
import "server-only";
import { env } from "@/server/env";
import { readOrCreateSecret } from "@/server/local-secrets";

export const EMBEDDED_DATABASE = "wire";

export function embeddedDatabaseUrl(database = EMBEDDED_DATABASE): string {
  const { dataDir, WIRE_EMBEDDED_PG_PORT: port } = env();
  const password = readOrCreateSecret(dataDir, "postgres-password");
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

export function databaseUrl(): string {
  return env().DATABASE_URL ?? embeddedDatabaseUrl();
}

export function usesEmbeddedDatabase(): boolean {
  return env().DATABASE_URL === undefined;
}
