import "server-only";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { databaseUrl } from "./connection";
import * as schema from "./schema";

/** Drizzle over a postgres.js pool; `$client` is that pool, for statements drizzle does not build. */
export type Database = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
/** A database handle or an open transaction: services accept either. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbOrTx = Database | Tx;

/**
 * `connection` sets server parameters for every connection of the pool (e.g. lock_timeout); `onQuery`
 * sees every statement sent (benchmarks count them).
 */
export function createDatabase(
  url: string,
  options: {
    max?: number;
    connection?: Record<string, string | number | boolean>;
    onQuery?: (query: string, connection: number) => void;
  } = {},
) {
  const onQuery = options.onQuery;
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: options.connection,
    ...(onQuery ? { debug: (connection: number, query: string) => onQuery(query, connection) } : {}),
  });
  return { db: drizzle(sql, { schema, casing: "snake_case" }), sql };
}

// One pool per process, kept on globalThis so Next's dev reloads and separately bundled entry points share it.
const holder = globalThis as unknown as { __wireDb?: ReturnType<typeof createDatabase> };

function pool(): ReturnType<typeof createDatabase> {
  holder.__wireDb ??= createDatabase(databaseUrl());
  return holder.__wireDb;
}

export function getDb(): Database {
  return pool().db;
}

/** The process's postgres.js pool under getDb(), for what drizzle does not cover (reserved connections). */
export function getSql(): postgres.Sql {
  return pool().sql;
}

export async function closeDb(): Promise<void> {
  const current = holder.__wireDb;
  holder.__wireDb = undefined;
  await current?.sql.end({ timeout: 5 });
}
