/**
 * Removing what an archived source pulled (detach, disconnect): files with their entries, embeddings and
 * stored copies, in bounded batches. Rows go first with their copies noted in the blob ledger, in one
 * transaction; the copies are deleted after it, and reconcile finishes any a crash interrupted.
 */
import "server-only";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { files, sourceObjects, sources } from "@/db/schema";
import type { BlobStore } from "@/server/blobs";
import { deleteBlobs, finishNotedDeletes, noteBlobsToDelete } from "@/server/blobs/ledger";
import { containerBlobPrefix } from "@/server/services/containers";
import { deleteDerivedData } from "@/server/processing/pipeline";

/** Removes up to `batchSize` of an archived source's files with their derived data and stored copies. */
export async function deleteSourceFiles(
  db: Database,
  blobs: BlobStore,
  params: { sourceId: string; containerId: string; batchSize?: number },
) {
  const batchSize = params.batchSize ?? 500;
  const blobKeys = await db.transaction(async (tx) => {
    const [source] = await tx.select({ status: sources.status }).from(sources).where(eq(sources.id, params.sourceId));
    // Only an archived source is cleaned: a late or replayed event must not empty a live one.
    if (source && source.status !== "archived") return null;
    const batch = await tx
      .select({ id: files.id })
      .from(files)
      .where(eq(files.sourceId, params.sourceId))
      .limit(batchSize);
    const ids = batch.map((f) => f.id);
    await deleteDerivedData(tx, ids);
    const deleted = ids.length
      ? await tx
          .delete(files)
          .where(and(inArray(files.id, ids), eq(files.sourceId, params.sourceId)))
          .returning({ blobKey: files.blobKey })
      : [];
    const keys = deleted.flatMap((d) => (d.blobKey ? [d.blobKey] : []));
    await noteBlobsToDelete(tx, keys);
    if (ids.length < batchSize) await tx.delete(sourceObjects).where(eq(sourceObjects.sourceId, params.sourceId));
    return { keys, deleted: ids.length };
  });
  if (!blobKeys) return { deleted: 0, remaining: false };
  await deleteBlobs(db, blobs, blobKeys.keys);
  const remaining = blobKeys.deleted === batchSize;
  // A retry after a crash between the rows and their copies finds no rows: the ledger knows the copies.
  if (!remaining) await finishNotedDeletes(db, blobs, containerBlobPrefix(params.containerId));
  return { deleted: blobKeys.deleted, remaining };
}

/**
 * Archived sources that still hold files or mirror rows, archived longer than `graceMinutes` ago (their
 * cleanup should have run by then): a crash lost their cleanup event, or it gave up.
 */
export async function sourcesLeftToClean(db: Database, graceMinutes: number) {
  return db
    .select({ id: sources.id, containerId: sources.containerId })
    .from(sources)
    .where(
      and(
        eq(sources.status, "archived"),
        sql`${sources.archivedAt} < now() - make_interval(mins => ${graceMinutes})`,
        sql`(exists (select 1 from ${files} f where f.source_id = ${sources.id}) or exists (select 1 from ${sourceObjects} o where o.source_id = ${sources.id}))`,
      ),
    )
    .orderBy(sources.archivedAt)
    .limit(100);
}
