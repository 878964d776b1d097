/**
 * The steps of one sync run (driven by the sync-source function, one durable step each). State lives in
 * Postgres, so a run interrupted anywhere resumes from its last completed step:
 *   start → list page 0..n (diff each page against source_objects in SQL) → remove missing → import batches → finish
 * Only ListObjectsV2 under the prefix and GetObject of listed keys reach the bucket.
 */
import { randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import pLimit from "p-limit";
import type { Database, DbOrTx } from "@/db/client";
import { connectors, files, sourceObjects, sources, syncRuns } from "@/db/schema";
import type { BlobStore } from "@/server/blobs";
import { embedder } from "@/server/processing/embed";
import { deleteDerivedData, processFile } from "@/server/processing/pipeline";
import { mapS3Error } from "@/server/s3/errors";
import { isChangedSinceListing, isMissingObject, listPage, readObject } from "@/server/s3/objects";
import { connectorClient } from "@/server/services/connectors/client";
import { containerBlobPrefix } from "@/server/services/containers";

const JOB = { type: "job", name: "sync-source" } as const;
/** Downloads in flight per connector in this process, across all of its sources' runs. */
const DOWNLOADS_PER_CONNECTOR = 8;
const connectorLimits = new Map<string, ReturnType<typeof pLimit>>();

function connectorLimit(connectorId: string) {
  let limit = connectorLimits.get(connectorId);
  if (!limit) connectorLimits.set(connectorId, (limit = pLimit(DOWNLOADS_PER_CONNECTOR)));
  return limit;
}

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

async function loadSource(db: DbOrTx, sourceId: string) {
  const [row] = await db
    .select({ source: sources, connector: connectors })
    .from(sources)
    .innerJoin(connectors, eq(connectors.id, sources.connectorId))
    .where(eq(sources.id, sourceId));
  return row ?? null;
}

export async function startRun(db: Database, sourceId: string, trigger: "backfill" | "schedule" | "manual") {
  return db.transaction(async (tx) => {
    const row = await loadSource(tx, sourceId);
    if (!row || row.source.status === "archived") return null;
    if (row.connector.status !== "active") throw new SyncStop("The connector's credentials no longer work; an Owner or Admin needs to re-test or replace them.", true);
    const [run] = await tx.insert(syncRuns).values({ sourceId, trigger }).returning({ id: syncRuns.id });
    // Requests made before this run started are covered by it.
    await tx
      .update(sources)
      .set({ status: "syncing", followUpRequested: false, lastError: null, progress: { listed: 0, processed: 0, failed: 0 } })
      .where(eq(sources.id, sourceId));
    return { runId: run!.id };
  });
}

/** Runs an S3 call, turning credential failures into a stop that flips the connector to invalid credentials. */
async function s3Call<T>(row: NonNullable<Awaited<ReturnType<typeof loadSource>>>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const mapped = mapS3Error(error, { bucket: row.source.bucket, region: row.connector.region, endpoint: row.connector.endpoint, prefix: row.source.prefix });
    if (mapped.kind === "invalid_credentials" || mapped.kind === "access_denied") throw new SyncStop(mapped.message, true);
    if (mapped.kind === "bucket_not_found" || mapped.kind === "wrong_region" || mapped.kind === "endpoint_not_allowed") throw new SyncStop(mapped.message);
    throw error; // 5xx, timeouts, network: the step is retried
  }
}

async function withClient<T>(db: DbOrTx, row: NonNullable<Awaited<ReturnType<typeof loadSource>>>, purpose: string, use: (client: S3Client) => Promise<T>) {
  const client = await connectorClient(db, row.connector, JOB, purpose);
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/**
 * Lists one page and records it in the mirror index in one statement: new keys and keys whose ETag changed
 * are marked for import, every listed key is marked as seen by this run.
 */
export async function listAndDiffPage(
  db: Database,
  params: { sourceId: string; runId: string; token: string | null; listedSoFar: number; maxObjects: number },
): Promise<{ nextToken: string | null; listed: number; truncated: boolean }> {
  const row = await loadSource(db, params.sourceId);
  if (!row || row.source.status === "archived") return { nextToken: null, listed: 0, truncated: false };
  const room = params.maxObjects - params.listedSoFar;
  const page = await withClient(db, row, "list objects", (client) =>
    s3Call(row, () => listPage(client, { bucket: row.source.bucket, prefix: row.source.prefix, token: params.token, maxKeys: Math.min(1000, room + 1) })),
  );
  const truncated = page.objects.length > room || (page.objects.length === room && page.nextToken !== null);
  const objects = page.objects.slice(0, room);
  if (objects.length) {
    const [counts] = await db.execute<{ added: number; updated: number }>(sql`
      with incoming as (
        select * from jsonb_to_recordset(${JSON.stringify(objects)}::jsonb)
          as x(key text, etag text, size bigint, "lastModified" timestamptz)
      ),
      old as (
        select o.key, o.etag from source_objects o where o.source_id = ${params.sourceId} and o.key in (select key from incoming)
      ),
      upserted as (
        insert into source_objects (source_id, key, etag, size, last_modified, last_seen_run_id, needs_import)
        select ${params.sourceId}, key, etag, size, "lastModified", ${params.runId}, true from incoming
        on conflict (source_id, key) do update set
          etag = excluded.etag, size = excluded.size, last_modified = excluded.last_modified,
          last_seen_run_id = excluded.last_seen_run_id,
          needs_import = source_objects.needs_import or source_objects.etag <> excluded.etag
        returning 1
      )
      select (select count(*) from incoming i where not exists (select 1 from old o where o.key = i.key))::int as added,
             (select count(*) from incoming i join old o on o.key = i.key where o.etag <> i.etag)::int as updated,
             (select count(*) from upserted)::int as written`);
    await bumpCounters(db, params, { listed: objects.length, added: counts!.added, updated: counts!.updated });
  }
  return { nextToken: truncated ? null : page.nextToken, listed: objects.length, truncated };
}

async function bumpCounters(
  db: DbOrTx,
  params: { sourceId: string; runId: string },
  delta: Partial<Record<"listed" | "added" | "updated" | "removed" | "failed" | "processed", number>>,
) {
  await db
    .update(syncRuns)
    .set({
      listed: sql`${syncRuns.listed} + ${delta.listed ?? 0}`,
      added: sql`${syncRuns.added} + ${delta.added ?? 0}`,
      updated: sql`${syncRuns.updated} + ${delta.updated ?? 0}`,
      removed: sql`${syncRuns.removed} + ${delta.removed ?? 0}`,
      failed: sql`${syncRuns.failed} + ${delta.failed ?? 0}`,
    })
    .where(eq(syncRuns.id, params.runId));
  await db
    .update(sources)
    .set({
      progress: sql`jsonb_build_object(
        'listed', coalesce((${sources.progress}->>'listed')::int, 0) + ${delta.listed ?? 0},
        'processed', coalesce((${sources.progress}->>'processed')::int, 0) + ${delta.processed ?? 0},
        'failed', coalesce((${sources.progress}->>'failed')::int, 0) + ${delta.failed ?? 0})`,
    })
    .where(and(eq(sources.id, params.sourceId), eq(sources.status, "syncing")));
}

/**
 * After a complete listing, removes what the bucket no longer has: files this source made for keys the
 * listing did not see. A listing that found nothing for a source that has files is refused as suspect.
 */
export async function removeMissing(db: Database, blobs: BlobStore, params: { sourceId: string; runId: string; listedTotal: number; batchSize?: number }) {
  if (params.listedTotal === 0) {
    const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(sourceObjects).where(eq(sourceObjects.sourceId, params.sourceId));
    if (row!.n > 0) {
      throw new SyncStop(
        `The bucket listing came back empty, but this source has ${row!.n} files. Nothing was removed. If the prefix really is empty now, detach the source.`,
      );
    }
  }
  let removed = 0;
  for (;;) {
    const gone = await db
      .select({ key: sourceObjects.key, fileId: sourceObjects.fileId })
      .from(sourceObjects)
      .where(and(eq(sourceObjects.sourceId, params.sourceId), sql`${sourceObjects.lastSeenRunId} is distinct from ${params.runId}`))
      .limit(params.batchSize ?? 500);
    if (!gone.length) break;
    const blobKeys = await db.transaction(async (tx) => {
      const fileIds = gone.map((g) => g.fileId).filter((id): id is string => id !== null);
      await deleteDerivedData(tx, fileIds);
      const deleted = fileIds.length
        ? await tx.delete(files).where(and(inArray(files.id, fileIds), eq(files.sourceId, params.sourceId))).returning({ blobKey: files.blobKey })
        : [];
      await tx.delete(sourceObjects).where(and(eq(sourceObjects.sourceId, params.sourceId), inArray(sourceObjects.key, gone.map((g) => g.key))));
      return deleted.map((d) => d.blobKey);
    });
    for (const key of blobKeys) await blobs.delete(key);
    removed += gone.length;
  }
  if (removed) await bumpCounters(db, params, { removed });
  return { removed };
}

/**
 * Fetches and processes up to `batchSize` objects marked for import. A file is written only while its
 * source is not archived (checked under a lock the detach must wait for), so a late worker cannot
 * bring back a file of a detached source.
 */
export async function importBatch(db: Database, blobs: BlobStore, params: { sourceId: string; runId: string; batchSize?: number }) {
  const row = await loadSource(db, params.sourceId);
  if (!row || row.source.status === "archived") return { remaining: false, processed: 0, failed: 0 };
  const pending = await db
    .select()
    .from(sourceObjects)
    .where(and(eq(sourceObjects.sourceId, params.sourceId), eq(sourceObjects.needsImport, true)))
    .orderBy(sourceObjects.key)
    .limit(params.batchSize ?? 25);
  if (!pending.length) return { remaining: false, processed: 0, failed: 0 };

  const limit = connectorLimit(row.connector.id);
  const outcomes = await withClient(db, row, "download objects", (client) =>
    Promise.all(pending.map((object) => limit(() => importObject(db, blobs, client, row, object)))),
  );
  const processed = outcomes.filter((o) => o === "ready").length;
  const failed = outcomes.filter((o) => o === "failed").length;
  await bumpCounters(db, params, { processed, failed });
  return { remaining: true, processed, failed };
}

type SourceRow = NonNullable<Awaited<ReturnType<typeof loadSource>>>;

async function importObject(db: Database, blobs: BlobStore, client: S3Client, row: SourceRow, object: typeof sourceObjects.$inferSelect) {
  const done = () =>
    db
      .update(sourceObjects)
      .set({ needsImport: false })
      .where(and(eq(sourceObjects.sourceId, object.sourceId), eq(sourceObjects.key, object.key), eq(sourceObjects.etag, object.etag)));
  let fetched: Awaited<ReturnType<typeof readObject>>;
  try {
    fetched = await s3Call(row, () => readObject(client, { bucket: row.source.bucket, key: object.key, etag: object.etag }));
  } catch (error) {
    // Changed or deleted since the listing: the next run's listing sees its current state.
    if (isChangedSinceListing(error) || isMissingObject(error)) {
      await done();
      return "skipped" as const;
    }
    throw error;
  }
  const blobKey = `${containerBlobPrefix(row.source.containerId)}${randomUUID()}`;
  await blobs.put(blobKey, fetched.body);
  const written = await db.transaction(async (tx) => {
    const [source] = await tx.select({ status: sources.status }).from(sources).where(eq(sources.id, object.sourceId)).for("share");
    if (!source || source.status === "archived") return null;
    const values = { contentType: fetched.contentType, size: fetched.body.byteLength, blobKey, status: "processing" as const, error: null, updatedAt: new Date() };
    const [previous] = object.fileId
      ? await tx.select({ id: files.id, blobKey: files.blobKey }).from(files).where(and(eq(files.id, object.fileId), eq(files.sourceId, object.sourceId))).for("update")
      : [];
    let fileId: string;
    if (previous) {
      await tx.update(files).set(values).where(eq(files.id, previous.id));
      fileId = previous.id;
    } else {
      const [file] = await tx
        .insert(files)
        .values({ ...values, containerId: row.source.containerId, name: object.key, origin: "connector", sourceId: object.sourceId })
        .returning({ id: files.id });
      fileId = file!.id;
    }
    // Still marked for import until processed: a process killed in between fetches it again into this file.
    await tx
      .update(sourceObjects)
      .set({ fileId })
      .where(and(eq(sourceObjects.sourceId, object.sourceId), eq(sourceObjects.key, object.key)));
    return { fileId, replacedBlobKey: previous?.blobKey ?? null };
  });
  if (!written) {
    await blobs.delete(blobKey);
    return "skipped" as const;
  }
  if (written.replacedBlobKey) await blobs.delete(written.replacedBlobKey);
  const result = await processFile(db, blobs, embedder(), written.fileId);
  await done();
  return result.status === "failed" ? ("failed" as const) : ("ready" as const);
}

/** Ends the run; returns whether "Sync now" asked for a follow-up run meanwhile. */
export async function finishRun(db: Database, params: { sourceId: string; runId: string; truncated: boolean }) {
  return db.transaction(async (tx) => {
    await tx
      .update(syncRuns)
      .set({ status: "succeeded", finishedAt: new Date(), truncated: params.truncated })
      .where(eq(syncRuns.id, params.runId));
    const [source] = await tx
      .update(sources)
      .set({ status: "synced", lastSyncedAt: new Date(), progress: null })
      .where(and(eq(sources.id, params.sourceId), eq(sources.status, "syncing")))
      .returning({ followUp: sources.followUpRequested });
    if (!source?.followUp) return { followUp: false };
    await tx.update(sources).set({ status: "pending", followUpRequested: false, queuedAt: new Date() }).where(eq(sources.id, params.sourceId));
    return { followUp: true };
  });
}

/** Records a failed run on the source (Error pill) and, for credential failures, on the connector. */
export async function failRun(db: Database, params: { sourceId: string; runId: string | null; message: string; credentialsFailed: boolean }) {
  await db.transaction(async (tx) => {
    // Without a run id (the function gave up after its retries), whatever run of the source is still open failed.
    await tx
      .update(syncRuns)
      .set({ status: "failed", finishedAt: new Date(), error: params.message })
      .where(params.runId ? eq(syncRuns.id, params.runId) : and(eq(syncRuns.sourceId, params.sourceId), eq(syncRuns.status, "running")));
    const [source] = await tx
      .update(sources)
      .set({ status: "error", lastError: params.message, progress: null })
      .where(and(eq(sources.id, params.sourceId), ne(sources.status, "archived")))
      .returning({ connectorId: sources.connectorId });
    if (source && params.credentialsFailed) {
      await tx
        .update(connectors)
        .set({ status: "invalid_credentials", lastError: params.message, lastCheckedAt: new Date() })
        .where(and(eq(connectors.id, source.connectorId), eq(connectors.status, "active")));
    }
  });
}

/** Removes up to `batchSize` of an archived source's files with their derived data and stored copies. */
export async function deleteSourceFiles(db: Database, blobs: BlobStore, params: { sourceId: string; batchSize?: number }) {
  const batch = await db
    .select({ id: files.id, blobKey: files.blobKey })
    .from(files)
    .where(eq(files.sourceId, params.sourceId))
    .limit(params.batchSize ?? 500);
  if (batch.length) {
    // Entries and embeddings in bounded statements first, rather than one giant cascade.
    await deleteDerivedData(db, batch.map((f) => f.id));
    await db.delete(files).where(and(inArray(files.id, batch.map((f) => f.id)), eq(files.sourceId, params.sourceId)));
    for (const file of batch) await blobs.delete(file.blobKey);
  }
  if (batch.length < (params.batchSize ?? 500)) {
    await db.delete(sourceObjects).where(eq(sourceObjects.sourceId, params.sourceId));
    return { deleted: batch.length, remaining: false };
  }
  return { deleted: batch.length, remaining: true };
}

