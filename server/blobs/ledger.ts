/**
 * The blob ledger (db/schema/outbox.ts): a stored copy is noted before it is written and before it is
 * deleted, so a crash between a copy and the row that refers to it leaves a trace that reconcile follows.
 *   writing → the file row that refers to it lands (forget it), or it never does (reconcile deletes the copy)
 *   deleting → the copy is deleted, then forgotten; reconcile finishes what a crash interrupted
 */
import "server-only";
import { and, inArray, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { blobLedger, files } from "@/db/schema";
import type { BlobStore } from "./index";

export async function noteBlobsWriting(db: DbOrTx, keys: string[]) {
  if (keys.length)
    await db
      .insert(blobLedger)
      .values(keys.map((key) => ({ key, intent: "writing" as const })))
      .onConflictDoNothing();
}

export async function noteBlobsToDelete(db: DbOrTx, keys: string[]) {
  if (!keys.length) return;
  await db
    .insert(blobLedger)
    .values(keys.map((key) => ({ key, intent: "deleting" as const })))
    .onConflictDoUpdate({ target: blobLedger.key, set: { intent: "deleting", createdAt: new Date() } });
}

export async function forgetBlobs(db: DbOrTx, keys: string[]) {
  if (keys.length) await db.delete(blobLedger).where(inArray(blobLedger.key, keys));
}

/** Deletes stored copies (noted for deletion, or written and not to be kept), then forgets them. */
export async function deleteBlobs(db: DbOrTx, blobs: BlobStore, keys: string[]) {
  for (const key of keys) await blobs.delete(key);
  await forgetBlobs(db, keys);
}

/**
 * Deletes the copies under `prefix` noted for deletion whose delete a crash interrupted (a cleanup's retry
 * finds its rows gone, but not necessarily their copies). A copy a file refers to is only forgotten.
 */
export async function finishNotedDeletes(db: DbOrTx, blobs: BlobStore, prefix: string) {
  const noted = await db
    .select({ key: blobLedger.key })
    .from(blobLedger)
    .where(
      and(
        sql`${blobLedger.intent} = 'deleting'`,
        sql`starts_with(${blobLedger.key}, ${prefix})`,
        sql`not exists (select 1 from ${files} f where f.blob_key = ${blobLedger.key})`,
      ),
    );
  await deleteBlobs(
    db,
    blobs,
    noted.map((n) => n.key),
  );
}

/**
 * Finishes what crashes left: copies noted for deletion, and copies written longer than `writingGraceMs` ago
 * that no file refers to. A copy a file does refer to is only forgotten, never deleted.
 */
export async function reconcileBlobs(
  db: DbOrTx,
  blobs: BlobStore,
  params: { writingGraceMs: number; limit?: number },
): Promise<number> {
  const stale = await db
    .select({ key: blobLedger.key })
    .from(blobLedger)
    .where(
      and(
        sql`(${blobLedger.intent} = 'deleting' or ${blobLedger.createdAt} < now() - ${`${params.writingGraceMs} milliseconds`}::interval)`,
        sql`not exists (select 1 from ${files} f where f.blob_key = ${blobLedger.key})`,
      ),
    )
    .limit(params.limit ?? 1000);
  for (const { key } of stale) await blobs.delete(key);
  await forgetBlobs(
    db,
    stale.map((s) => s.key),
  );
  // Copies a file refers to after all (its write landed, the forget did not): nothing to delete, only forget.
  await db
    .delete(blobLedger)
    .where(
      and(
        lt(blobLedger.createdAt, sql`now() - ${`${params.writingGraceMs} milliseconds`}::interval`),
        sql`exists (select 1 from ${files} f where f.blob_key = ${blobLedger.key})`,
      ),
    );
  return stale.length;
}
