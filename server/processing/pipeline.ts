/**
 * The one processing pipeline every file goes through, whatever its origin (upload, agent, connector):
 * stored copy → text → entries → embeddings, written in one transaction.
 *
 * Work on a file version is identified by its blobKey: every new version of a file gets a new stored copy
 * and so a new key. The slow part (read, extract, chunk, embed) runs outside any transaction; the write then
 * locks the file row and only lands if the row still exists with the key that was processed. Otherwise a
 * newer version (or a delete) won and its own processing owns the row: we write nothing.
 *
 * A bad file never throws: it ends "failed" with a reason users can read in files.error. Infrastructure
 * errors (database, blob store unreachable) do throw, so the durable step that called us retries.
 */
import { and, eq, inArray } from "drizzle-orm";
import type { Database, DbOrTx } from "@/db/client";
import { embeddings, entries, files } from "@/db/schema";
import type { BlobStore } from "@/server/blobs";
import { logger } from "@/server/logger";
import { splitIntoEntries } from "./chunk";
import { EmbeddingError, type Embedder } from "./embed";
import { ExtractionError, extractText } from "./extract";

/** Text beyond this many characters of a file is not processed (the file itself is kept whole). */
export const MAX_TEXT_CHARS = 2_000_000;
/** Entries beyond this many per file are not created. */
export const MAX_ENTRIES = 2_000;
/** Rows per INSERT: bounded statements whatever the file size. */
const INSERT_BATCH = 200;

export const MISSING_COPY_ERROR = "The stored copy is missing.";

export type ProcessResult = { status: "ready" | "failed" | "gone"; entries: number; error?: string };

type Outcome = { status: "ready"; texts: string[]; vectors: number[][] } | { status: "failed"; error: string };

export async function processFile(db: Database, blobs: BlobStore, embedder: Embedder, fileId: string): Promise<ProcessResult> {
  const [file] = await db
    .select({ id: files.id, name: files.name, contentType: files.contentType, blobKey: files.blobKey })
    .from(files)
    .where(eq(files.id, fileId));
  if (!file) return { status: "gone", entries: 0 };
  const log = logger.child({ fileId, blobKey: file.blobKey });

  const outcome = await derive(blobs, embedder, file, log);
  return write(db, fileId, file.blobKey, embedder.model, outcome);
}

async function derive(
  blobs: BlobStore,
  embedder: Embedder,
  file: { name: string; contentType: string; blobKey: string },
  log: typeof logger,
): Promise<Outcome> {
  let body: Uint8Array;
  try {
    body = await blobs.get(file.blobKey);
  } catch (error) {
    // Missing means missing; anything else (store unreachable, permissions) is infrastructure: retry.
    if ((await blobs.exists(file.blobKey)) === false) return { status: "failed", error: MISSING_COPY_ERROR };
    throw error;
  }

  try {
    const extracted = await extractText({ body, contentType: file.contentType, name: file.name });
    if (extracted.kind === "unsupported") return { status: "ready", texts: [], vectors: [] };
    let text = extracted.text;
    if (text.length > MAX_TEXT_CHARS) {
      log.info({ chars: text.length, limit: MAX_TEXT_CHARS }, "File text truncated for processing");
      text = text.slice(0, MAX_TEXT_CHARS);
    }
    let texts = splitIntoEntries(text);
    if (texts.length > MAX_ENTRIES) {
      log.info({ entries: texts.length, limit: MAX_ENTRIES }, "File entries capped for processing");
      texts = texts.slice(0, MAX_ENTRIES);
    }
    const vectors = texts.length ? await embedder.embed(texts) : [];
    if (vectors.length !== texts.length) {
      throw new EmbeddingError(`The embedder returned ${vectors.length} vectors for ${texts.length} entries.`);
    }
    return { status: "ready", texts, vectors };
  } catch (error) {
    // An embeddings service that is down or rate-limiting is a fault, not a bad file: let the step retry.
    if (error instanceof EmbeddingError && error.retryable) throw error;
    const reason = reasonFor(error);
    log.warn({ err: error, reason }, "File processing failed");
    return { status: "failed", error: reason };
  }
}

function reasonFor(error: unknown): string {
  if (error instanceof ExtractionError || error instanceof EmbeddingError) return error.message;
  const message = error instanceof Error ? error.message.split("\n")[0]!.trim() : "";
  const clipped = message.length > 200 ? `${message.slice(0, 200)}…` : message;
  return clipped ? `This file could not be processed: ${clipped}` : "This file could not be processed.";
}

async function write(db: Database, fileId: string, blobKey: string, model: string, outcome: Outcome): Promise<ProcessResult> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select({ blobKey: files.blobKey }).from(files).where(eq(files.id, fileId)).for("update");
    // Deleted, or replaced by a newer version whose own processing will write its entries.
    if (!current || current.blobKey !== blobKey) return { status: "gone", entries: 0 } satisfies ProcessResult;

    await tx.delete(entries).where(eq(entries.fileId, fileId));
    if (outcome.status === "failed") {
      await tx.update(files).set({ status: "failed", error: outcome.error, updatedAt: new Date() }).where(eq(files.id, fileId));
      return { status: "failed", entries: 0, error: outcome.error } satisfies ProcessResult;
    }

    for (let start = 0; start < outcome.texts.length; start += INSERT_BATCH) {
      const rows = outcome.texts.slice(start, start + INSERT_BATCH).map((text, i) => ({ fileId, ordinal: start + i, text }));
      const inserted = await tx.insert(entries).values(rows).returning({ id: entries.id, ordinal: entries.ordinal });
      await tx.insert(embeddings).values(inserted.map((row) => ({ entryId: row.id, model, vector: outcome.vectors[row.ordinal]! })));
    }
    await tx.update(files).set({ status: "ready", error: null, updatedAt: new Date() }).where(eq(files.id, fileId));
    return { status: "ready", entries: outcome.texts.length } satisfies ProcessResult;
  });
}

/** Files per statement and entries per DELETE in deleteDerivedData. */
const DELETE_FILE_BATCH = 500;
const DELETE_ENTRY_BATCH = 5_000;

/**
 * Removes the entries (and, by cascade, the embeddings) of these files, a bounded number of rows per
 * statement, so deleting a huge source does not become one giant DELETE. Returns how many entries went.
 * Run it before deleting the file rows themselves; it is idempotent.
 */
export async function deleteDerivedData(db: DbOrTx, fileIds: string[]): Promise<number> {
  let removed = 0;
  const unique = [...new Set(fileIds)];
  for (let start = 0; start < unique.length; start += DELETE_FILE_BATCH) {
    const batch = unique.slice(start, start + DELETE_FILE_BATCH);
    for (;;) {
      const victims = db
        .select({ id: entries.id })
        .from(entries)
        .where(inArray(entries.fileId, batch))
        .limit(DELETE_ENTRY_BATCH);
      const deleted = await db
        .delete(entries)
        .where(and(inArray(entries.fileId, batch), inArray(entries.id, victims)))
        .returning({ id: entries.id });
      removed += deleted.length;
      if (deleted.length < DELETE_ENTRY_BATCH) break;
    }
  }
  return removed;
}
