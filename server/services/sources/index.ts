/**
 * Container sources: a connector's bucket + prefix flowing into one container. Attach checks the bucket
 * with a read call first; sync runs are the sync-source function's; detach archives at once and leaves
 * the removal of everything the source pulled to the cleanup-source function. Every change records the
 * event it implies in its own transaction (the outbox), so a crash in between loses nothing.
 */
import "server-only";
import { and, desc, eq, inArray, ne, or, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { connectors, files, sources, syncRuns } from "@/db/schema";
import { sourceDetached, sourceSyncRequested } from "@/inngest/events";
import type { EventOutbox } from "@/inngest/outbox";
import { AppError, notFound } from "@/server/errors";
import { S3AccessError } from "@/server/s3/errors";
import { checkBucketAccess } from "@/server/s3/validate";
import { connectorClient } from "@/server/services/connectors/client";
import { cancelRuns } from "./runs";
import { moveSource, sourceIs } from "./states";
import { defined } from "@/server/defined";

const visibleColumns = {
  id: sources.id,
  connectorId: sources.connectorId,
  connectorLabel: connectors.label,
  connectorStatus: connectors.status,
  bucket: sources.bucket,
  prefix: sources.prefix,
  status: sources.status,
  lastError: sources.lastError,
  lastSyncedAt: sources.lastSyncedAt,
  queuedAt: sources.queuedAt,
  followUpRequested: sources.followUpRequested,
  createdAt: sources.createdAt,
  runId: syncRuns.id,
  runListed: syncRuns.listed,
  runProcessed: syncRuns.processed,
  runFailed: syncRuns.failed,
  runRetrying: syncRuns.error,
  lastProgressAt: syncRuns.updatedAt,
};

/** The container's sources, each with the counters of its running run (the Syncing pill's progress). */
export async function listSources(db: DbOrTx, containerId: string) {
  const rows = await db
    .select(visibleColumns)
    .from(sources)
    .innerJoin(connectors, eq(connectors.id, sources.connectorId))
    .leftJoin(syncRuns, and(eq(syncRuns.sourceId, sources.id), eq(syncRuns.status, "running")))
    .where(and(eq(sources.containerId, containerId), ne(sources.status, "archived")))
    .orderBy(sources.createdAt);
  return rows.map(({ runId, runListed, runProcessed, runFailed, runRetrying, ...source }) => ({
    ...source,
    // The counters are NOT NULL columns: null only when the left join found no running run.
    progress: runId
      ? { listed: runListed ?? 0, processed: runProcessed ?? 0, failed: runFailed ?? 0, retrying: runRetrying }
      : null,
  }));
}

export async function attachSource(
  db: DbOrTx,
  events: EventOutbox,
  params: { orgId: string; containerId: string; userId: string; connectorId: string; bucket: string; prefix: string },
) {
  const [connector] = await db
    .select()
    .from(connectors)
    .where(and(eq(connectors.id, params.connectorId), eq(connectors.orgId, params.orgId)));
  if (!connector) throw new AppError("NOT_FOUND", "Connector not found", "connectorId");
  if (connector.status !== "active") {
    throw new AppError(
      "BAD_REQUEST",
      connector.status === "disconnected"
        ? "This connector is disconnected. Pick another one."
        : "This connector's credentials no longer work. An Owner or Admin can re-test or replace them under Organization → Connectors.",
      "connectorId",
    );
  }
  // One name, one file: two sources of one bucket whose prefixes nest would mirror the same keys twice.
  const [overlapping] = await db
    .select({ bucket: sources.bucket, prefix: sources.prefix })
    .from(sources)
    .where(
      and(
        eq(sources.containerId, params.containerId),
        eq(sources.bucket, params.bucket),
        ne(sources.status, "archived"),
        sql`(starts_with(${params.prefix}, ${sources.prefix}) or starts_with(${sources.prefix}, ${params.prefix}))`,
      ),
    )
    .limit(1);
  if (overlapping) {
    const other = `${overlapping.bucket}/${overlapping.prefix}`;
    throw new AppError(
      "CONFLICT",
      overlapping.prefix === params.prefix
        ? "This bucket and prefix are already a source of this container."
        : `This prefix overlaps the source ${other} already in this container: both would bring in the same files. Pick a prefix outside it, or detach that source first.`,
      "prefix",
    );
  }

  const client = await connectorClient(
    db,
    connector,
    { type: "user", userId: params.userId },
    "check a source's bucket",
  );
  try {
    await checkBucketAccess(client, {
      bucket: params.bucket,
      prefix: params.prefix,
      region: connector.region,
      endpoint: connector.endpoint,
    });
  } catch (error) {
    if (error instanceof S3AccessError) {
      throw new AppError("BAD_REQUEST", error.message, sourceField(error));
    }
    throw error;
  } finally {
    client.destroy();
  }

  const source = await db.transaction(async (tx) => {
    const [created] = await tx
      .insert(sources)
      .values({
        containerId: params.containerId,
        connectorId: params.connectorId,
        bucket: params.bucket,
        prefix: params.prefix,
        createdBy: params.userId,
        queuedAt: new Date(),
      })
      .returning({ id: sources.id });
    const { id } = defined(created, "the created source");
    await events.record(tx, [sourceSyncRequested.create({ sourceId: id, trigger: "backfill" })]);
    return { id };
  });
  await events.flush();
  return source;
}

/** The Add bucket form's field for an S3 failure (validation names the connector form's fields). */
function sourceField(error: S3AccessError): string {
  if (error.field === "testPrefix") return "prefix";
  return error.field === "testBucket" || !error.field ? "bucket" : error.field;
}

async function activeSource(db: DbOrTx, params: { containerId: string; sourceId: string }) {
  const [source] = await db
    .select()
    .from(sources)
    .where(
      and(eq(sources.id, params.sourceId), eq(sources.containerId, params.containerId), ne(sources.status, "archived")),
    );
  if (!source) throw notFound("Source");
  return source;
}

/** Pending for this long without a run starting: the request was lost (kept as a backstop to the outbox). */
const lostRequest = sql`${sources.status} = 'pending' and ${sources.queuedAt} < now() - interval '10 minutes'`;

/** A running run that has not reported progress for this long is taken as dead by "Sync now". */
export const STALLED_RUN_MINUTES = 10;
const stalledRun = sql`${syncRuns.status} = 'running' and ${syncRuns.updatedAt} < now() - make_interval(mins => ${STALLED_RUN_MINUTES})`;

/**
 * "Sync now": starts a run when none is queued or running; otherwise asks for exactly one follow-up run
 * after the current one, however often it is pressed. A source whose run stalled (no progress for
 * STALLED_RUN_MINUTES) or whose run ended without telling it gets a fresh run instead of waiting on a ghost.
 */
export async function requestSync(db: DbOrTx, events: EventOutbox, params: { containerId: string; sourceId: string }) {
  await activeSource(db, params);
  const outcome = await db.transaction(async (tx) => {
    const [source] = await tx.select().from(sources).where(eq(sources.id, params.sourceId)).for("no key update");
    if (!source || source.status === "archived") throw notFound("Source");
    const [running] = await tx
      .select()
      .from(syncRuns)
      .where(and(eq(syncRuns.sourceId, params.sourceId), eq(syncRuns.status, "running")))
      .for("no key update");
    const [stalled] = running
      ? await tx
          .select({ id: syncRuns.id })
          .from(syncRuns)
          .where(and(eq(syncRuns.id, running.id), stalledRun))
      : [];
    const idle = source.status === "synced" || source.status === "error";
    const lost =
      source.status === "pending"
        ? (
            await tx
              .select({ id: sources.id })
              .from(sources)
              .where(and(eq(sources.id, source.id), lostRequest))
          ).length > 0
        : false;
    const ghost = source.status === "syncing" && (!running || stalled);
    if (!idle && !lost && !ghost) {
      await tx.update(sources).set({ followUpRequested: true }).where(eq(sources.id, params.sourceId));
      return "after-current-run" as const;
    }
    if (running) {
      await tx
        .update(syncRuns)
        .set({
          status: "cancelled",
          finishedAt: new Date(),
          updatedAt: new Date(),
          error: `No progress for ${STALLED_RUN_MINUTES} minutes; replaced by a new run.`,
        })
        .where(eq(syncRuns.id, running.id));
    }
    await moveSource(tx, sourceIs(params.sourceId), "pending", {
      fields: { lastError: null, queuedAt: new Date(), followUpRequested: false },
    });
    await events.record(tx, [sourceSyncRequested.create({ sourceId: params.sourceId, trigger: "manual" })]);
    return "now" as const;
  });
  await events.flush();
  return { queued: outcome };
}

/** Archives the source at once; its files, entries, embeddings and stored copies are removed in the background. */
export async function detachSource(db: DbOrTx, events: EventOutbox, params: { containerId: string; sourceId: string }) {
  await db.transaction(async (tx) => {
    const [archived] = await moveSource(
      tx,
      and(eq(sources.id, params.sourceId), eq(sources.containerId, params.containerId)),
      "archived",
      {
        fields: { archivedAt: new Date(), followUpRequested: false },
      },
    );
    if (!archived) throw notFound("Source");
    await cancelRuns(tx, [archived.id], "The source was detached.");
    await events.record(tx, [sourceDetached.create({ sourceId: archived.id, containerId: params.containerId })]);
  });
  await events.flush();
}

/** Files of the source whose processing failed, with the reason (they can be retried from the Files tab API). */
export async function listFailedFiles(db: DbOrTx, params: { containerId: string; sourceId: string; limit?: number }) {
  await activeSource(db, params);
  return db
    .select({ id: files.id, name: files.name, error: files.error, updatedAt: files.updatedAt })
    .from(files)
    .where(
      and(eq(files.sourceId, params.sourceId), eq(files.containerId, params.containerId), eq(files.status, "failed")),
    )
    .orderBy(files.name)
    .limit(params.limit ?? 100);
}

export async function listSyncRuns(db: DbOrTx, params: { containerId: string; sourceId: string; limit?: number }) {
  await activeSource(db, params);
  return db
    .select()
    .from(syncRuns)
    .where(eq(syncRuns.sourceId, params.sourceId))
    .orderBy(desc(syncRuns.startedAt))
    .limit(params.limit ?? 20);
}

/** Archives every source of a disconnected connector (their running runs cancelled); returns them for cleanup. */
export async function archiveSourcesOf(db: DbOrTx, connectorId: string) {
  return db.transaction(async (tx) => {
    const archived = await moveSource(tx, eq(sources.connectorId, connectorId), "archived", {
      fields: { archivedAt: new Date(), followUpRequested: false },
    });
    await cancelRuns(
      tx,
      archived.map((s) => s.id),
      "The connector was disconnected.",
    );
    return archived;
  });
}

/**
 * Marks sources due for a scheduled sync (idle, connector active, last synced longer ago than the cadence,
 * and no run started within it: a source whose runs keep failing is tried once a cadence, not every minute),
 * and sources whose requested run never started.
 */
export async function queueDueSources(db: DbOrTx, intervalMinutes: number): Promise<string[]> {
  const due = and(
    sql`${sources.connectorId} in (select id from connectors where status = 'active')`,
    or(
      and(
        inArray(sources.status, ["synced", "error"]),
        sql`(${sources.lastSyncedAt} is null or ${sources.lastSyncedAt} < now() - make_interval(mins => ${intervalMinutes}))`,
        sql`not exists (select 1 from ${syncRuns} r where r.source_id = ${sources.id} and r.started_at > now() - make_interval(mins => ${intervalMinutes}))`,
      ),
      lostRequest,
    ),
  );
  const rows = await moveSource(db, due, "pending", { fields: { queuedAt: new Date() } });
  return rows.map((r) => r.id);
}
