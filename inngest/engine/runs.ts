/**
 * Creating, finishing and cancelling runs. Every change that ends a run also frees its concurrency slot
 * by waking the next queued run of the same function and key.
 */
import { randomUUID } from "node:crypto";
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { engineJobs, engineRuns, engineWaits } from "@/db/schema";
import { valueAt } from "./expressions";
import type { CompiledFunction } from "./registry";

export interface EngineEvent {
  id: string;
  name: string;
  data: Record<string, unknown>;
  user?: Record<string, unknown> | null;
  ts: number;
  v?: string;
}

export const ACTIVE_STATUSES = ["queued", "running"] as const;

export async function createRun(db: DbOrTx, fn: CompiledFunction, event: EngineEvent, replayOf?: string): Promise<string> {
  const id = randomUUID();
  const key = fn.concurrency?.keyPath ? JSON.stringify(valueAt(event, fn.concurrency.keyPath) ?? null) : null;
  await db.insert(engineRuns).values({ id, functionId: fn.id, eventId: event.id, event, concurrencyKey: key, replayOf });
  await db.insert(engineJobs).values({ runId: id, kind: "discover" });
  return id;
}

/** Serialises slot decisions for one function + concurrency key across all workers and processes. */
export async function lockSlot(db: DbOrTx, functionId: string, concurrencyKey: string | null) {
  await db.execute(sql`select pg_advisory_xact_lock(hashtextextended(${JSON.stringify([functionId, concurrencyKey])}, 1))`);
}

/** Wakes the oldest run waiting for a slot of this function + key, if any. */
async function releaseSlot(db: DbOrTx, run: { functionId: string; concurrencyKey: string | null }) {
  await lockSlot(db, run.functionId, run.concurrencyKey);
  const next = db
    .select({ id: engineRuns.id })
    .from(engineRuns)
    .where(
      and(
        eq(engineRuns.functionId, run.functionId),
        run.concurrencyKey === null ? isNull(engineRuns.concurrencyKey) : eq(engineRuns.concurrencyKey, run.concurrencyKey),
        eq(engineRuns.status, "queued"),
      ),
    )
    .orderBy(asc(engineRuns.createdAt))
    .limit(1);
  await db.update(engineJobs).set({ runAt: sql`now()` }).where(inArray(engineJobs.runId, next));
}

/** Ends a run. Jobs another worker holds are left to that worker, which sees the run has ended and drops them. */
export async function endRun(
  db: DbOrTx,
  runId: string,
  outcome: { status: "completed"; output: unknown } | { status: "failed" | "cancelled"; error: unknown },
) {
  const [run] = await db
    .update(engineRuns)
    .set({
      status: outcome.status,
      output: outcome.status === "completed" ? (outcome.output ?? null) : null,
      error: outcome.status === "completed" ? null : outcome.error,
      endedAt: new Date(),
    })
    .where(and(eq(engineRuns.id, runId), inArray(engineRuns.status, [...ACTIVE_STATUSES])))
    .returning({ functionId: engineRuns.functionId, concurrencyKey: engineRuns.concurrencyKey });
  if (!run) return false;
  await db.execute(
    sql`delete from engine_jobs where id in (select id from engine_jobs where run_id = ${runId} for update skip locked)`,
  );
  await db.delete(engineWaits).where(eq(engineWaits.runId, runId));
  await releaseSlot(db, run);
  return true;
}
