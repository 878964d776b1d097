/**
 * History retention: ended runs (with their steps and attempts, by cascade) and received events are
 * deleted once older than the policy, in bounded batches so no statement holds many locks or runs long.
 * Failed runs are kept longer, for operators to inspect and replay. Rows are picked with SKIP LOCKED, so
 * processes pruning at once share the work instead of waiting on each other.
 */
import "server-only";
import type { Sql } from "./sql";

export interface RetentionPolicy {
  /** Completed and cancelled runs, and events. */
  days: number;
  failedDays: number;
}

const BATCH = 500;

export async function pruneHistory(sql: Sql, policy: RetentionPolicy): Promise<{ runs: number; events: number }> {
  const deleted = { runs: 0, events: 0 };
  deleted.runs += await inBatches(
    (limit) => sql`
    delete from engine_runs where id in (
      select id from engine_runs where status in ('completed', 'cancelled') and ended_at < now() - make_interval(days => ${policy.days})
      limit ${limit} for update skip locked)`,
  );
  deleted.runs += await inBatches(
    (limit) => sql`
    delete from engine_runs where id in (
      select id from engine_runs where status = 'failed' and ended_at < now() - make_interval(days => ${policy.failedDays})
      limit ${limit} for update skip locked)`,
  );
  deleted.events += await inBatches(
    (limit) => sql`
    delete from engine_events where id in (
      select id from engine_events where received_at < now() - make_interval(days => ${policy.days})
      limit ${limit} for update skip locked)`,
  );
  return deleted;
}

async function inBatches(statement: (limit: number) => Promise<{ count: number }>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = (await statement(BATCH)).count;
    total += n;
    if (n < BATCH) return total;
  }
}
