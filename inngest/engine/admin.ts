/** What operators can see and do with the embedded engine's runs (used by the `engine` CLI). */
import "server-only";
import { and, asc, desc, eq, type SQL } from "drizzle-orm";
import type { Database } from "@/db/client";
import { engineAttempts, engineRuns, engineSteps } from "@/db/schema";
import { loadFunction } from "./registry";
import { createRun, type EngineEvent } from "./runs";

export type RunStatus = (typeof engineRuns.$inferSelect)["status"];

export function listRuns(db: Database, params: { status?: RunStatus; functionId?: string; limit?: number } = {}) {
  const filters: SQL[] = [];
  if (params.status) filters.push(eq(engineRuns.status, params.status));
  if (params.functionId) filters.push(eq(engineRuns.functionId, params.functionId));
  return db
    .select({
      id: engineRuns.id,
      functionId: engineRuns.functionId,
      status: engineRuns.status,
      createdAt: engineRuns.createdAt,
      endedAt: engineRuns.endedAt,
      error: engineRuns.error,
      replayOf: engineRuns.replayOf,
    })
    .from(engineRuns)
    .where(and(...filters))
    .orderBy(desc(engineRuns.createdAt))
    .limit(params.limit ?? 20);
}

export async function runDetail(db: Database, runId: string) {
  const [run] = await db.select().from(engineRuns).where(eq(engineRuns.id, runId));
  if (!run) return null;
  const [steps, attempts] = await Promise.all([
    db.select().from(engineSteps).where(eq(engineSteps.runId, runId)).orderBy(asc(engineSteps.seq)),
    db.select().from(engineAttempts).where(eq(engineAttempts.runId, runId)).orderBy(asc(engineAttempts.id)),
  ]);
  return { run, steps, attempts };
}

/** Starts a new run of the same function with the same event; the failed run stays as it was. */
export async function replayRun(db: Database, runId: string): Promise<string> {
  const [run] = await db.select().from(engineRuns).where(eq(engineRuns.id, runId));
  if (!run) throw new Error(`No run ${runId}`);
  if (run.status !== "failed" && run.status !== "cancelled")
    throw new Error(`Run ${runId} is ${run.status}; only failed or cancelled runs can be replayed`);
  const fn = await loadFunction(db, run.functionId);
  if (!fn) throw new Error(`Function ${run.functionId} is no longer registered`);
  return db.$client.begin((tx) => createRun(tx, fn, run.event as EngineEvent, run.id));
}
