/**
 * The engine's SQL handle: a postgres.js pool or one of its transactions. Statements are tagged templates,
 * so postgres.js prepares each once per connection and sends statements issued together in one write.
 */
import "server-only";
import type postgres from "postgres";

export type Sql = postgres.Sql | postgres.TransactionSql | postgres.ReservedSql;

/**
 * Timestamps arrive as text on the engine's pool (drizzle, which shares the pool, turns postgres.js's
 * date parsing off), or as Dates elsewhere; both become Dates.
 */
export function date(value: string | Date): Date {
  return value instanceof Date ? value : new Date(value);
}

/** A timestamptz parameter: ISO text, for the same reason as json(). */
export function timestamp(value: Date): string {
  return value.toISOString();
}

/**
 * A jsonb parameter: JSON text, as drizzle (which shares the pool) has postgres.js pass json values through
 * untouched. Null and undefined stay SQL NULL.
 */
export function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/**
 * A transaction whose BEGIN travels with its first statement (postgres.js's own `begin` waits for BEGIN's
 * answer first): one round trip less on the engine's busiest path. Rolled back if `work` throws.
 */
export async function transaction<T>(sql: postgres.Sql, work: (tx: postgres.ReservedSql) => Promise<T>): Promise<T> {
  const tx = await sql.reserve();
  try {
    const begun = tx`begin`.execute();
    begun.catch(() => {}); // a failed BEGIN fails the statements sent after it, which `work` awaits
    const result = await work(tx);
    await tx`commit`;
    return result;
  } catch (error) {
    await tx`rollback`.catch(() => {});
    throw error;
  } finally {
    tx.release();
  }
}
