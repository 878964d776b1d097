/**
 * Sync runs: one running run per source (a unique index says so), started by the sync-source function,
 * listed by it, imported by import-objects runs (one per batch), and ended by whichever part finishes last:
 * the listing once its batches are done, or the last batch once the listing is.
 *
 * Lock order: the source row, then its run row, then batches. Every writer that changes a run's or a
 * source's state takes them in that order; the listing locks only its run (to count). Rows are locked
 * FOR NO KEY UPDATE, never FOR UPDATE: the listing's inserts into source_objects take a KEY SHARE lock on the
 * source through the foreign key (after its run lock), which only FOR UPDATE would block — a deadlock.
 * A run's progress lives on the run (listed / processed / failed), so the busy paths never touch the source.
 */
import "server-only";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database, DbOrTx } from "@/db/client";
import { connectors, sources, syncBatches, syncRuns } from "@/db/schema";
import { sourceSyncRequested } from "@/inngest/events";
import type { EventOutbox } from "@/inngest/outbox";
import { moveSource, sourceIs } from "./states";

/** A failure the next attempt cannot fix (credentials, an empty listing that looks wrong): no retries. */
export class SyncStop extends Error {
  constructor(
    message: string,
    readonly credentialsFailed = false,
  ) {
    super(message);
    this.name = "SyncStop";
  }
}

/** A failure a later attempt may fix (S3 5xx, timeouts, the network), in words a user can act on. */
export class SyncRetry extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SyncRetry";
  }
}

export type RunCounters = Partial<Record<"listed" | "added" | "updated" | "removed" | "failed" | "processed", number>>;

export async function loadSourceWithConnector(db: DbOrTx, sourceId: string) {
  const [row] = await db
    .select({ source: sources, connector: connectors })
    .from(sources)
    .innerJoin(connectors, eq(connectors.id, sources.connectorId))
    .where(eq(sources.id, sourceId));
  return row ?? null;
}

export type SourceWithConnector = NonNullable<Awaited<ReturnType<typeof loadSourceWithConnector>>>;

/**
 * Starts a run of the source: null when the source is archived, or when a run is already running — then
 * the request is remembered as the follow-up that run starts when it ends (exactly one, however many came).
 */
export async function startRun(db: Database, sourceId: string, trigger: "backfill" | "schedule" | "manual") {
  return db.transaction(async (tx) => {
    const [locked] = await tx.select().from(sources).where(eq(sources.id, sourceId)).for("no key update");
    if (!locked || locked.status === "archived") return null;
    const [connector] = await tx
      .select({ status: connectors.status })
      .from(connectors)
      .where(eq(connectors.id, locked.connectorId));
    if (connector?.status !== "active") {
      throw new SyncStop(
        "The connector's credentials no longer work; an Owner or Admin needs to re-test or replace them.",
        true,
      );
    }
    const [run] = await tx
      .insert(syncRuns)
      .values({ sourceId, trigger })
      .onConflictDoNothing({ target: syncRuns.sourceId, where: sql`${syncRuns.status} = 'running'` })
      .returning({ id: syncRuns.id });
    if (!run) {
      await tx.update(sources).set({ followUpRequested: true }).where(eq(sources.id, sourceId));
      return null;
    }
    // Requests made before this run started are covered by it. The last error stays visible until a run succeeds.
    await moveSource(tx, sourceIs(sourceId), "syncing", { fields: { followUpRequested: false } });
    return { runId: run.id };
  });
}

/** Adds to a run's counters and notes that it is alive; false when the run is no longer running. */
export async function bumpCounters(db: DbOrTx, runId: string, delta: RunCounters): Promise<boolean> {
  const updated = await db
    .update(syncRuns)
    .set({
      listed: sql`${syncRuns.listed} + ${delta.listed ?? 0}`,
      added: sql`${syncRuns.added} + ${delta.added ?? 0}`,
      updated: sql`${syncRuns.updated} + ${delta.updated ?? 0}`,
      removed: sql`${syncRuns.removed} + ${delta.removed ?? 0}`,
      failed: sql`${syncRuns.failed} + ${delta.failed ?? 0}`,
      processed: sql`${syncRuns.processed} + ${delta.processed ?? 0}`,
      updatedAt: new Date(),
      // Progress: whatever an earlier attempt tripped over has passed.
      error: null,
    })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, "running")))
    .returning({ id: syncRuns.id });
  return updated.length > 0;
}

/**
 * Notes why an attempt of a running run failed while the engine retries it, so the Syncing pill says what is
 * wrong (a hung endpoint, an outage) long before the retries run out. The next progress clears it.
 */
export async function noteRetry(db: DbOrTx, runId: string, reason: string) {
  await db
    .update(syncRuns)
    .set({ error: reason })
    .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, "running")));
}

/**
 * Ends the run if nothing of it is left: its listing is done and every import batch is. Called by both
 * after their own transaction committed (in a step that is retried, so a crash in between only delays it);
 * the locks make exactly one caller the one that ends it. A follow-up asked for meanwhile ("Sync now"
 * during the run) is started through the outbox.
 */
export async function finishIfDrained(
  db: Database,
  events: EventOutbox,
  params: { sourceId: string; runId: string },
): Promise<boolean> {
  // Without locks or a transaction first: every part of the run calls this after its own commit, so the part
  // that committed last sees everything done here. The others (most calls) return at once.
  if (!(await runIsDrained(db, params.runId))) return false;
  const finished = await db.transaction((tx) => finishInTransaction(tx, events, params));
  if (finished) await events.flush();
  return finished;
}

/** The run is running, its listing is done and so is every import batch it handed out. */
async function runIsDrained(tx: DbOrTx, runId: string): Promise<boolean> {
  const [run] = await tx
    .select({
      drained: sql<boolean>`${syncRuns.status} = 'running' and ${syncRuns.listingDone}
        and not exists (select 1 from ${syncBatches} b where b.run_id = ${syncRuns.id} and not b.done)`,
    })
    .from(syncRuns)
    .where(eq(syncRuns.id, runId));
  return run?.drained === true;
}

async function finishInTransaction(
  tx: DbOrTx,
  events: EventOutbox,
  params: { sourceId: string; runId: string },
): Promise<boolean> {
  const [source] = await tx
    .select({ followUp: sources.followUpRequested })
    .from(sources)
    .where(eq(sources.id, params.sourceId))
    .for("no key update");
  const [run] = await tx.select().from(syncRuns).where(eq(syncRuns.id, params.runId)).for("no key update");
  if (!source || !run || !(await runIsDrained(tx, params.runId))) return false;

  await tx
    .update(syncRuns)
    .set({ status: "succeeded", finishedAt: new Date(), updatedAt: new Date() })
    .where(eq(syncRuns.id, params.runId));
  if (source.followUp) {
    const moved = await moveSource(tx, sourceIs(params.sourceId), "pending", {
      from: ["syncing"],
      fields: { lastSyncedAt: new Date(), lastError: null, followUpRequested: false, queuedAt: new Date() },
    });
    if (moved.length)
      await events.record(tx, [sourceSyncRequested.create({ sourceId: params.sourceId, trigger: "manual" })]);
  } else {
    await moveSource(tx, sourceIs(params.sourceId), "synced", {
      from: ["syncing"],
      fields: { lastSyncedAt: new Date(), lastError: null },
    });
  }
  return true;
}

/**
 * Records a failed run on the source (Error pill) and, for credential failures, on the connector. Without
 * a run id (the function gave up after its retries), whatever run of the source is still running failed.
 */
export async function failRun(
  db: Database,
  params: { sourceId: string; runId: string | null; message: string; credentialsFailed: boolean },
) {
  await db.transaction(async (tx) => {
    const [source] = await tx
      .select({ connectorId: sources.connectorId })
      .from(sources)
      .where(eq(sources.id, params.sourceId))
      .for("no key update");
    if (!source) return;
    await tx
      .update(syncRuns)
      .set({ status: "failed", finishedAt: new Date(), updatedAt: new Date(), error: params.message })
      .where(
        and(
          params.runId ? eq(syncRuns.id, params.runId) : eq(syncRuns.sourceId, params.sourceId),
          eq(syncRuns.status, "running"),
        ),
      );
    await moveSource(tx, sourceIs(params.sourceId), "error", { fields: { lastError: params.message } });
    if (params.credentialsFailed) {
      await tx
        .update(connectors)
        .set({ status: "invalid_credentials", lastError: params.message, lastCheckedAt: new Date() })
        .where(and(eq(connectors.id, source.connectorId), eq(connectors.status, "active")));
    }
  });
}

/** Marks the running run of these sources cancelled (they were archived): late workers then write nothing. */
export async function cancelRuns(tx: DbOrTx, sourceIds: string[], reason: string) {
  if (!sourceIds.length) return;
  await tx
    .update(syncRuns)
    .set({ status: "cancelled", finishedAt: new Date(), updatedAt: new Date(), error: reason })
    .where(and(inArray(syncRuns.sourceId, sourceIds), eq(syncRuns.status, "running")));
}

export async function runIsRunning(db: DbOrTx, runId: string): Promise<boolean> {
  const [run] = await db.select({ status: syncRuns.status }).from(syncRuns).where(eq(syncRuns.id, runId));
  return run?.status === "running";
}
