/**
 * Event ingestion: store each event once (ids derived from the SDK's event-id seed, so the SDK's own
 * retries do not duplicate), start the functions it triggers, cancel the runs it cancels and resume
 * the runs waiting for it.
 */
import { createHash, randomUUID } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database, DbOrTx } from "@/db/client";
import { engineEvents, engineJobs, engineRuns, engineSteps, engineWaits } from "@/db/schema";
import { valueAt } from "./expressions";
import { loadFunctions, type CompiledFunction } from "./registry";
import { ACTIVE_STATUSES, createRun, endRun, type EngineEvent } from "./runs";

export interface IncomingEvent {
  id?: string;
  name: string;
  data?: Record<string, unknown>;
  user?: Record<string, unknown>;
  ts?: number;
  v?: string;
}

function eventId(seed: string | null, index: number): string {
  if (!seed) return randomUUID();
  return createHash("sha256").update(`${seed}:${index}`).digest("hex").slice(0, 32);
}

function isEqual(a: unknown, b: unknown): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export async function ingestEvents(db: Database, incoming: IncomingEvent[], seed: string | null): Promise<string[]> {
  if (!incoming.length) return [];
  const functions = await loadFunctions(db);
  const ids: string[] = [];
  for (const [index, raw] of incoming.entries()) {
    if (typeof raw?.name !== "string" || !raw.name) throw new Error("Every event needs a name");
    const event: EngineEvent = {
      id: raw.id ?? eventId(seed, index),
      name: raw.name,
      data: raw.data ?? {},
      user: raw.user ?? null,
      ts: raw.ts ?? Date.now(),
      ...(raw.v ? { v: raw.v } : {}),
    };
    ids.push(event.id);
    await db.transaction(async (tx) => {
      const [stored] = await tx
        .insert(engineEvents)
        .values({ id: event.id, name: event.name, data: event.data, user: event.user, ts: event.ts })
        .onConflictDoNothing()
        .returning({ id: engineEvents.id });
      if (!stored) return; // already ingested: a retried send
      for (const fn of functions) {
        if (fn.triggers.some((t) => t.event === event.name && (!t.filter || isEqual(valueAt(event, t.filter.path), t.filter.value)))) {
          await createRun(tx, fn, event);
        }
      }
      await cancelMatchingRuns(tx, functions, event);
      await resumeWaitingRuns(tx, event);
    });
  }
  return ids;
}

async function cancelMatchingRuns(db: DbOrTx, functions: CompiledFunction[], event: EngineEvent) {
  for (const fn of functions) {
    for (const cancel of fn.cancel.filter((c) => c.event === event.name)) {
      const candidates = await db
        .select({ id: engineRuns.id, event: engineRuns.event, createdAt: engineRuns.createdAt })
        .from(engineRuns)
        .where(and(eq(engineRuns.functionId, fn.id), inArray(engineRuns.status, [...ACTIVE_STATUSES])));
      for (const run of candidates) {
        const matches = !cancel.match || isEqual(valueAt(run.event, cancel.match.eventPath), valueAt(event, cancel.match.asyncPath));
        const inTime = cancel.timeoutMs === null || Date.now() - run.createdAt.getTime() <= cancel.timeoutMs;
        // An event never cancels the run it started.
        if (matches && inTime && (run.event as EngineEvent).id !== event.id) {
          await endRun(db, run.id, { status: "cancelled", error: { name: "Cancelled", message: `Cancelled by event ${event.name}` } });
        }
      }
    }
  }
}

async function resumeWaitingRuns(db: DbOrTx, event: EngineEvent) {
  const waits = await db.select().from(engineWaits).where(eq(engineWaits.eventName, event.name)).for("update");
  for (const wait of waits) {
    if (wait.matchPath !== null && !isEqual(valueAt(event, wait.matchPath), wait.matchValue)) continue;
    await db.delete(engineWaits).where(and(eq(engineWaits.runId, wait.runId), eq(engineWaits.stepId, wait.stepId)));
    await db.insert(engineSteps).values({ runId: wait.runId, id: wait.stepId, op: "WaitForEvent", result: { data: event } }).onConflictDoNothing();
    // A worker already holding the timeout job finds the wait gone and drops it.
    await db.execute(
      sql`delete from engine_jobs where id in (select id from engine_jobs where run_id = ${wait.runId} and kind = 'timeout' and step_id = ${wait.stepId} for update skip locked)`,
    );
    await db.insert(engineJobs).values({ runId: wait.runId, kind: "discover" }).onConflictDoNothing();
  }
}
