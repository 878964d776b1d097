/**
 * The import half of a sync run: one batch of keys, assigned by the run's listing, fetched into the container.
 *
 *   8 lanes, each: download (IfMatch the listed ETag, under the batch's deadline) → text → stored copy
 *   (its key noted in the blob ledger first) → then one embedder call for the batch → one transaction: files,
 *   entries and embeddings in multi-row statements, the mirror rows, the run's counters, the batch marked done.
 *
 * A lane holds a small object's body from download to stored copy within the process's body budget (by
 * listed size, server/processing/memory-budget.ts); a large one streams into the blob store and its text is
 * read back from the copy, only as much as extraction needs: memory stays flat however large the objects and
 * however many batches run at once.
 *
 * A step that fails or runs out of time aborts its own downloads, so an abandoned attempt never writes beside
 * its retry; the write lands only while the source is attached and the run still running. Problems of one
 * object (access denied to it, an archived storage class, too large, unreadable content) fail that file with a
 * reason and leave the rest of the batch alone; credential failures stop the run.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { addAbortSignal } from "node:stream";
import { and, eq, inArray, sql } from "drizzle-orm";
import pLimit from "p-limit";
import type { Database, DbOrTx } from "@/db/client";
import { files, sourceObjects, sources, syncBatches } from "@/db/schema";
import { StreamedBody, type BlobStore } from "@/server/blobs";
import { deleteBlobs, forgetBlobs, noteBlobsToDelete, noteBlobsWriting } from "@/server/blobs/ledger";
import { embedder } from "@/server/processing/embed";
import { withBodyInMemory } from "@/server/processing/memory-budget";
import {
  deleteDerivedData,
  deriveStoredCopy,
  deriveTexts,
  embedFiles,
  insertEntries,
  type DerivedTexts,
} from "@/server/processing/pipeline";
import { isChangedSinceListing, isMissingObject, objectReadProblem, openObject, readObject } from "@/server/s3/objects";
import { containerBlobPrefix } from "@/server/services/containers";
import { bumpCounters, loadSourceWithConnector, runIsRunning, type SourceWithConnector } from "./runs";
import { s3Call, withSourceClient } from "./s3-calls";
import { defined } from "@/server/defined";

/** Downloads in flight per batch (the import function's concurrency, keyed by connector, bounds the batches). */
export const DOWNLOADS_PER_BATCH = 8;
/**
 * Bodies larger than this stream into the blob store rather than being held whole (memory stays flat
 * whatever the object sizes); smaller ones are held, which spares reading the copy back for their text.
 */
export const STREAM_ABOVE_BYTES = 4 * 1024 * 1024;
/** A batch's downloads give up after this long (well inside the engine's request timeout) and are retried. */
export const IMPORT_DEADLINE_MS = 5 * 60 * 1000;

type MirrorRow = typeof sourceObjects.$inferSelect;

/** One object of the batch after its lane: read, derived and stored; skipped; or failed with a reason. */
type Fetched =
  | {
      kind: "read";
      object: MirrorRow;
      blobKey: string;
      contentType: string;
      size: number;
      texts: string[] | null;
      error: string | null;
    }
  /** Changed or deleted since the listing: the next listing sees its current state. */
  | { kind: "skipped"; object: MirrorRow }
  | { kind: "failed"; object: MirrorRow; reason: string };

export interface ImportOutcome {
  processed: number;
  failed: number;
  skipped: number;
}

const NOTHING: ImportOutcome = { processed: 0, failed: 0, skipped: 0 };

/** Fetches one import batch of a run into the container. Idempotent: a retry finds the objects it already wrote done. */
export async function importBatch(
  db: Database,
  blobs: BlobStore,
  params: { sourceId: string; runId: string; batch: number; maxFileBytes: number; signal?: AbortSignal },
): Promise<ImportOutcome> {
  const row = await loadSourceWithConnector(db, params.sourceId);
  if (!row || row.source.status === "archived" || !(await runIsRunning(db, params.runId))) return NOTHING;
  const pending = await db
    .select()
    .from(sourceObjects)
    .where(
      and(
        eq(sourceObjects.sourceId, params.sourceId),
        eq(sourceObjects.importRunId, params.runId),
        eq(sourceObjects.importBatch, params.batch),
        eq(sourceObjects.needsImport, true),
      ),
    )
    .orderBy(sourceObjects.key);
  if (!pending.length) {
    await markBatchDone(db, params);
    return NOTHING;
  }

  // Each copy's key is noted before anything is written: a copy an attempt leaves behind is found by reconcile.
  const blobKeys = new Map(
    pending.map((object) => [object.key, `${containerBlobPrefix(row.source.containerId)}${randomUUID()}`]),
  );
  await noteBlobsWriting(db, [...blobKeys.values()]);
  const fetched = await readAll(db, blobs, row, pending, blobKeys, params);
  return writeAll(db, blobs, row, fetched, [...blobKeys.values()], params);
}

/**
 * Each object in its own lane, 8 at a time: download, derive its text, store the copy, let the body go. The
 * lanes overlap downloading with processing. A small body is held whole, within the body budget; a large one
 * streams into the blob store and its text is read back from the copy (only as much as extraction needs).
 */
async function readAll(
  db: Database,
  blobs: BlobStore,
  row: SourceWithConnector,
  pending: MirrorRow[],
  blobKeys: Map<string, string>,
  params: { maxFileBytes: number; signal?: AbortSignal },
): Promise<Fetched[]> {
  const aborted = new AbortController();
  const signals = [aborted.signal, AbortSignal.timeout(IMPORT_DEADLINE_MS), ...(params.signal ? [params.signal] : [])];
  const signal = AbortSignal.any(signals);
  const limit = pLimit(DOWNLOADS_PER_BATCH);
  const { maxFileBytes } = params;
  return withSourceClient(db, row, "download objects", async (client) => {
    const request = (object: MirrorRow) => ({ bucket: row.source.bucket, key: object.key, etag: object.etag, signal });

    const heldWhole = (object: MirrorRow, blobKey: string) =>
      withBodyInMemory(object.size, async (): Promise<Fetched> => {
        const read = await readListed(row, object, () =>
          readObject(client, { ...request(object), maxBytes: maxFileBytes }),
        );
        if ("kind" in read) return read;
        if (read.body === null) return tooLarge(object, read.size, maxFileBytes);
        const derived = await deriveTexts({ body: read.body, contentType: read.contentType, name: object.key });
        signal.throwIfAborted();
        await blobs.put(blobKey, read.body);
        return fetched(object, blobKey, read.contentType, read.size, derived);
      });

    const streamed = async (object: MirrorRow, blobKey: string): Promise<Fetched> => {
      const opened = await readListed(row, object, () => openObject(client, request(object)));
      if ("kind" in opened) return opened;
      if (opened.size > maxFileBytes) {
        opened.stream.destroy();
        return tooLarge(object, opened.size, maxFileBytes);
      }
      // The stream ends with the step: an abandoned attempt writes no copy beside its retry's.
      const body = new StreamedBody(addAbortSignal(signal, opened.stream), opened.size);
      await blobs.put(blobKey, body).catch((error: unknown) => {
        // The download broke off (not the store): sorted as any S3 failure is, for the retry and its words.
        if (opened.stream.errored) return s3Call(row, () => Promise.reject(error as Error));
        throw error;
      });
      signal.throwIfAborted();
      const file = { blobKey, contentType: opened.contentType, name: object.key, size: opened.size };
      const derived = defined(await deriveStoredCopy(blobs, file), `the copy just stored at ${blobKey}`);
      return fetched(object, blobKey, opened.contentType, opened.size, derived);
    };

    const lane = (object: MirrorRow): Promise<Fetched> => {
      signal.throwIfAborted();
      if (object.size > maxFileBytes) return Promise.resolve(tooLarge(object, object.size, maxFileBytes));
      const blobKey = defined(blobKeys.get(object.key), `the blob key for ${object.key}`);
      return object.size > STREAM_ABOVE_BYTES ? streamed(object, blobKey) : heldWhole(object, blobKey);
    };
    try {
      return await Promise.all(pending.map((object) => limit(() => lane(object))));
    } catch (error) {
      // One lane failed for good (or the deadline passed): the others stop now, the step retries them all.
      aborted.abort();
      limit.clearQueue();
      throw error;
    }
  });
}

/**
 * An S3 read of one listed object, with the object's own problems sorted out: changed or removed since the
 * listing → skipped (the next listing sees it as it is); unreadable (access, archived) → failed with a reason.
 */
async function readListed<T extends object>(
  row: SourceWithConnector,
  object: MirrorRow,
  read: () => Promise<T>,
): Promise<T | Exclude<Fetched, { kind: "read" }>> {
  return s3Call(row, async () => {
    try {
      return await read();
    } catch (error) {
      if (isChangedSinceListing(error) || isMissingObject(error)) return { kind: "skipped", object };
      const problem = objectReadProblem(error);
      if (problem) return { kind: "failed", object, reason: problem };
      throw error;
    }
  });
}

function fetched(
  object: MirrorRow,
  blobKey: string,
  contentType: string,
  size: number,
  derived: DerivedTexts,
): Fetched {
  return {
    kind: "read",
    object,
    blobKey,
    contentType,
    size,
    texts: derived.status === "ready" ? derived.texts : null,
    error: derived.status === "failed" ? derived.error : null,
  };
}

function tooLarge(object: MirrorRow, size: number, maxFileBytes: number): Fetched {
  return { kind: "failed", object, reason: tooLargeReason(size, maxFileBytes) };
}

function tooLargeReason(size: number, maxFileBytes: number): string {
  const mb = (bytes: number) => `${Math.ceil(bytes / (1024 * 1024))} MB`;
  return `This object is too large (${mb(size)}); Wire imports objects up to ${mb(maxFileBytes)}. An administrator can raise WIRE_MAX_FILE_BYTES.`;
}

interface Prepared {
  object: MirrorRow;
  blobKey: string | null;
  contentType: string;
  size: number;
  status: "ready" | "failed";
  error: string | null;
  texts: string[];
  vectors: number[][];
}

class RunEnded extends Error {}

/** Embeds the batch in one call to the embedder, then lands it in one transaction. */
async function writeAll(
  db: Database,
  blobs: BlobStore,
  row: SourceWithConnector,
  fetched: Fetched[],
  noted: string[],
  params: { sourceId: string; runId: string; batch: number },
): Promise<ImportOutcome> {
  const embed = embedder();
  const prepared: Prepared[] = fetched.flatMap((item): Prepared[] => {
    if (item.kind === "skipped") return [];
    if (item.kind === "failed") {
      return [
        {
          object: item.object,
          blobKey: null,
          contentType: "application/octet-stream",
          size: item.object.size,
          status: "failed",
          error: item.reason,
          texts: [],
          vectors: [],
        },
      ];
    }
    const status = item.texts ? "ready" : "failed";
    return [
      {
        object: item.object,
        blobKey: item.blobKey,
        contentType: item.contentType,
        size: item.size,
        status,
        error: item.error,
        texts: item.texts ?? [],
        vectors: [],
      },
    ];
  });
  const embedded = await embedFiles(embed, prepared);
  prepared.forEach((p, i) => {
    const result = defined(embedded[i], `the embedding of ${p.object.key}`);
    if ("error" in result) Object.assign(p, { status: "failed", error: result.error, texts: [] });
    else p.vectors = result.vectors;
  });

  let replaced: string[];
  try {
    replaced = await db.transaction((tx) => writeBatch(tx, embed.model, row, fetched, prepared, noted, params));
  } catch (error) {
    if (!(error instanceof RunEnded)) throw error;
    // Detached or cancelled meanwhile: nothing of this batch stays.
    await deleteBlobs(db, blobs, noted);
    return NOTHING;
  }
  await deleteBlobs(db, blobs, replaced);
  const failed = prepared.filter((p) => p.status === "failed").length;
  return { processed: prepared.length - failed, failed, skipped: fetched.length - prepared.length };
}

/** The batch's one write. Returns the stored copies it replaced (noted for deletion). */
async function writeBatch(
  tx: DbOrTx,
  model: string,
  row: SourceWithConnector,
  fetched: Fetched[],
  prepared: Prepared[],
  noted: string[],
  params: { sourceId: string; runId: string; batch: number },
): Promise<string[]> {
  // The source first (a detach waits for us, or we see it archived). The run row (counters) is locked last:
  // every import batch of the run updates it, so holding it for the whole write would serialize them.
  const [source] = await tx
    .select({ status: sources.status })
    .from(sources)
    .where(eq(sources.id, params.sourceId))
    .for("share");
  if (!source || source.status === "archived") throw new RunEnded();

  const existing = prepared.length
    ? await tx
        .select({ id: files.id, name: files.name, blobKey: files.blobKey })
        .from(files)
        .where(
          and(
            eq(files.sourceId, params.sourceId),
            inArray(
              files.name,
              prepared.map((p) => p.object.key),
            ),
          ),
        )
        .for("update")
    : [];
  const byName = new Map(existing.map((f) => [f.name, f]));
  await deleteDerivedData(
    tx,
    existing.map((f) => f.id),
  );

  const columns = (p: Prepared) => ({
    content_type: p.contentType,
    size: p.size,
    blob_key: p.blobKey,
    status: p.status,
    error: p.error,
  });
  const updates = prepared.flatMap((p) => {
    const file = byName.get(p.object.key);
    return file ? [{ id: file.id, ...columns(p) }] : [];
  });
  if (updates.length) {
    await tx.execute(sql`
      update ${files} f set content_type = x.content_type, size = x.size, blob_key = x.blob_key,
        status = x.status::file_status, error = x.error, updated_at = now()
      from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as x(id uuid, content_type text, size bigint, blob_key text, status text, error text)
      where f.id = any(${uuidArray(updates.map((u) => u.id))}) and f.id = x.id`);
  }
  const additions = prepared.filter((p) => !byName.has(p.object.key));
  const inserted = additions.length
    ? await tx
        .insert(files)
        .values(
          additions.map((p) => ({
            containerId: row.source.containerId,
            name: p.object.key,
            origin: "connector" as const,
            sourceId: params.sourceId,
            status: p.status,
            error: p.error,
            contentType: p.contentType,
            size: p.size,
            blobKey: p.blobKey,
          })),
        )
        .returning({ id: files.id, name: files.name })
    : [];
  const fileIds = new Map([
    ...existing.map((f) => [f.name, f.id] as const),
    ...inserted.map((f) => [f.name, f.id] as const),
  ]);
  await insertEntries(
    tx,
    model,
    prepared
      .filter((p) => p.texts.length)
      .map((p) => ({
        fileId: defined(fileIds.get(p.object.key), `the file id of ${p.object.key}`),
        texts: p.texts,
        vectors: p.vectors,
      })),
  );

  // Mirror rows: imported at the listed ETag (skipped ones too: the next listing sees what changed).
  const mirror = fetched.map((f) => ({
    key: f.object.key,
    etag: f.object.etag,
    file_id: fileIds.get(f.object.key) ?? f.object.fileId,
  }));
  await tx.execute(sql`
    update ${sourceObjects} o set needs_import = false, file_id = x.file_id
    from jsonb_to_recordset(${JSON.stringify(mirror)}::jsonb) as x(key text, etag text, file_id uuid)
    where o.source_id = ${params.sourceId} and o.key = any(${textArray(mirror.map((m) => m.key))})
      and o.key = x.key and o.etag = x.etag and o.import_run_id = ${params.runId}`);
  // Cancelled or failed meanwhile: everything above rolls back.
  const failed = prepared.filter((p) => p.status === "failed").length;
  if (!(await bumpCounters(tx, params.runId, { processed: prepared.length - failed, failed }))) throw new RunEnded();
  await tx
    .update(syncBatches)
    .set({ done: true })
    .where(and(eq(syncBatches.runId, params.runId), eq(syncBatches.batch, params.batch)));

  const replaced = existing.flatMap((f) => (f.blobKey ? [f.blobKey] : []));
  await noteBlobsToDelete(tx, replaced);
  // Copies now referenced by files, and keys of objects that were never stored (skipped, failed): nothing to keep noting.
  await forgetBlobs(tx, noted);
  return replaced;
}

/*
 * The batch's keys as an array the primary key's index can look up. Joined to a recordset alone, the planner
 * (whose statistics lag a table that grows by a backfill) scans every row of the source once per batch row:
 * 800 ms a batch at 10,000 objects, growing with the square of the backfill. Bounded by the keys, ~1 ms.
 */
const textArray = (values: string[]) => sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
const uuidArray = (values: string[]) =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb)::uuid)`;

async function markBatchDone(db: Database, params: { runId: string; batch: number }) {
  await db
    .update(syncBatches)
    .set({ done: true })
    .where(and(eq(syncBatches.runId, params.runId), eq(syncBatches.batch, params.batch)));
}
