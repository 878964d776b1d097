/**
 * Container sources: a connector's bucket + prefix flowing into one container. Attach checks the bucket
 * with a read call first; sync runs are the sync-source function's; detach archives at once and leaves
 * the removal of everything the source pulled to the cleanup-source function.
 */
import { and, desc, eq, inArray, ne, or, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { connectors, files, sources, syncRuns } from "@/db/schema";
import { sourceDetached, sourceSyncRequested, type EventSender } from "@/inngest/events";
import { AppError, notFound } from "@/server/errors";
import { S3AccessError } from "@/server/s3/errors";
import { checkBucketAccess } from "@/server/s3/validate";
import { connectorClient } from "@/server/services/connectors/client";

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
  progress: sources.progress,
  followUpRequested: sources.followUpRequested,
  createdAt: sources.createdAt,
};

export function listSources(db: DbOrTx, containerId: string) {
  return db
    .select(visibleColumns)
    .from(sources)
    .innerJoin(connectors, eq(connectors.id, sources.connectorId))
    .where(and(eq(sources.containerId, containerId), ne(sources.status, "archived")))
    .orderBy(sources.createdAt);
}

export async function attachSource(
  db: DbOrTx,
  events: EventSender,
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
  const [duplicate] = await db
    .select({ id: sources.id })
    .from(sources)
    .where(
      and(
        eq(sources.containerId, params.containerId),
        eq(sources.connectorId, params.connectorId),
        eq(sources.bucket, params.bucket),
        eq(sources.prefix, params.prefix),
        ne(sources.status, "archived"),
      ),
    );
  if (duplicate) throw new AppError("CONFLICT", "This bucket and prefix are already a source of this container.", "prefix");

  const client = await connectorClient(db, connector, { type: "user", userId: params.userId }, "check a source's bucket");
  try {
    await checkBucketAccess(client, { bucket: params.bucket, prefix: params.prefix, region: connector.region, endpoint: connector.endpoint });
  } catch (error) {
    if (error instanceof S3AccessError) {
      throw new AppError("BAD_REQUEST", error.message, sourceField(error));
    }
    throw error;
  } finally {
    client.destroy();
  }

  const [source] = await db
    .insert(sources)
    .values({ containerId: params.containerId, connectorId: params.connectorId, bucket: params.bucket, prefix: params.prefix, createdBy: params.userId, queuedAt: new Date() })
    .returning({ id: sources.id });
  await queueRun(db, events, source!.id, "backfill");
  return source!;
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
    .where(and(eq(sources.id, params.sourceId), eq(sources.containerId, params.containerId), ne(sources.status, "archived")));
  if (!source) throw notFound("Source");
  return source;
}

/** Pending for this long without a run starting: the request was lost (a crash between saving and sending). */
const lostRequest = sql`${sources.status} = 'pending' and ${sources.queuedAt} < now() - interval '10 minutes'`;

/** Sends the run request; if it cannot be sent, the source shows Error with what to do instead of waiting forever. */
async function queueRun(db: DbOrTx, events: EventSender, sourceId: string, trigger: "backfill" | "manual") {
  try {
    await events.send(sourceSyncRequested.create({ sourceId, trigger }));
  } catch (error) {
    await db
      .update(sources)
      .set({ status: "error", lastError: "The sync could not be queued. Press Sync now to try again." })
      .where(and(eq(sources.id, sourceId), eq(sources.status, "pending")));
    throw error;
  }
}

/**
 * "Sync now": starts a run when none is queued or running; otherwise asks for exactly one follow-up run
 * after the current one, however often it is pressed.
 */
export async function requestSync(db: DbOrTx, events: EventSender, params: { containerId: string; sourceId: string }) {
  await activeSource(db, params);
  const [started] = await db
    .update(sources)
    .set({ status: "pending", lastError: null, queuedAt: new Date() })
    .where(and(eq(sources.id, params.sourceId), or(inArray(sources.status, ["synced", "error"]), lostRequest)))
    .returning({ id: sources.id });
  if (started) {
    await queueRun(db, events, params.sourceId, "manual");
    return { queued: "now" as const };
  }
  await db.update(sources).set({ followUpRequested: true }).where(and(eq(sources.id, params.sourceId), inArray(sources.status, ["pending", "syncing"])));
  return { queued: "after-current-run" as const };
}

/** Archives the source at once; its files, entries, embeddings and stored copies are removed in the background. */
export async function detachSource(db: DbOrTx, events: EventSender, params: { containerId: string; sourceId: string }) {
  const [archived] = await db
    .update(sources)
    .set({ status: "archived", archivedAt: new Date(), followUpRequested: false })
    .where(and(eq(sources.id, params.sourceId), eq(sources.containerId, params.containerId), ne(sources.status, "archived")))
    .returning({ id: sources.id });
  if (!archived) throw notFound("Source");
  await events.send(sourceDetached.create({ sourceId: archived.id, containerId: params.containerId }));
}

/** Files of the source whose processing failed, with the reason (they can be retried from the Files tab API). */
export async function listFailedFiles(db: DbOrTx, params: { containerId: string; sourceId: string; limit?: number }) {
  await activeSource(db, params);
  return db
    .select({ id: files.id, name: files.name, error: files.error, updatedAt: files.updatedAt })
    .from(files)
    .where(and(eq(files.sourceId, params.sourceId), eq(files.containerId, params.containerId), eq(files.status, "failed")))
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

/** Archives every source of a disconnected connector; returns them for cleanup. */
export function archiveSourcesOf(db: DbOrTx, connectorId: string) {
  return db
    .update(sources)
    .set({ status: "archived", archivedAt: new Date(), followUpRequested: false })
    .where(and(eq(sources.connectorId, connectorId), ne(sources.status, "archived")))
    .returning({ id: sources.id, containerId: sources.containerId });
}

/**
 * Marks sources due for a scheduled sync (idle, connector active, last synced longer ago than the cadence),
 * and sources whose requested run never started.
 */
export async function queueDueSources(db: DbOrTx, intervalMinutes: number): Promise<string[]> {
  const rows = await db
    .update(sources)
    .set({ status: "pending", queuedAt: new Date() })
    .where(
      and(
        sql`${sources.connectorId} in (select id from connectors where status = 'active')`,
        or(
          and(
            inArray(sources.status, ["synced", "error"]),
            sql`(${sources.lastSyncedAt} is null or ${sources.lastSyncedAt} < now() - make_interval(mins => ${intervalMinutes}))`,
          ),
          lostRequest,
        ),
      ),
    )
    .returning({ id: sources.id });
  return rows.map((r) => r.id);
}
