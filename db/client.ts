import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { databaseUrl } from "./connection";
import * as schema from "./schema";

export type Database = PostgresJsDatabase<typeof schema>;
/** A database handle or an open transaction: services accept either. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbOrTx = Database | Tx;

export function createDatabase(url: string, options: { max?: number } = {}) {
  const sql = postgres(url, { max: options.max ?? 10, onnotice: () => {} });
  return { db: drizzle(sql, { schema, casing: "snake_case" }), sql };
}

// One pool per process, kept on globalThis so Next's dev reloads and separately bundled entry points share it.
const holder = globalThis as unknown as { __wireDb?: ReturnType<typeof createDatabase> };

export function getDb(): Database {
  holder.__wireDb ??= createDatabase(databaseUrl());
  return holder.__wireDb.db;
}

export async function closeDb(): Promise<void> {
  const current = holder.__wireDb;
  holder.__wireDb = undefined;
  await current?.sql.end({ timeout: 5 });
}
