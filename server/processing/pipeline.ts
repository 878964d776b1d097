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
import "server-only";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database, DbOrTx } from "@/db/client";
import { embeddings, entries, files } from "@/db/schema";
import type { BlobStore } from "@/server/blobs";
import { logger } from "@/server/logger";
import { splitIntoEntries } from "./chunk";
import { EmbeddingError, type Embedder } from "./embed";
import { bytesToExtract, ExtractionError, extractText } from "./extract";
import { withBodyInMemory } from "./memory-budget";
import { defined } from "@/server/defined";

/** Text beyond this many characters of a file is not processed (the file itself is kept whole). */
export const MAX_TEXT_CHARS = 2_000_000;
/** Entries beyond this many per file are not created. */
export const MAX_ENTRIES = 2_000;
/** Rows per INSERT: bounded statements whatever the file size. */
const INSERT_BATCH = 200;

export const MISSING_COPY_ERROR = "The stored copy is missing.";

export type ProcessResult = { status: "ready" | "failed" | "gone"; entries: number; error?: string };

type Outcome = { status: "ready"; texts: string[]; vectors: number[][] } | { status: "failed"; error: string };

export async function processFile(
  db: Database,
  blobs: BlobStore,
  embedder: Embedder,
  fileId: string,
): Promise<ProcessResult> {
  const [file] = await db
    .select({
      id: files.id,
      name: files.name,
      contentType: files.contentType,
      blobKey: files.blobKey,
      size: files.size,
    })
    .from(files)
    .where(eq(files.id, fileId));
  if (!file) return { status: "gone", entries: 0 };
  if (!file.blobKey) return { status: "failed", entries: 0, error: MISSING_COPY_ERROR };
  const log = logger.child({ fileId, blobKey: file.blobKey });

  const derived = await deriveStoredCopy(blobs, { ...file, blobKey: file.blobKey }, log);
  if (!derived) return write(db, fileId, file.blobKey, embedder.model, { status: "failed", error: MISSING_COPY_ERROR });
  let outcome: Outcome;
  if (derived.status === "ready") {
    const [result] = await embedFiles(embedder, [derived]);
    const embedded = defined(result, `the embedding of file ${fileId}`);
    outcome =
      "error" in embedded ? { status: "failed", error: embedded.error } : { ...derived, vectors: embedded.vectors };
  } else {
    outcome = derived;
  }
  return write(db, fileId, file.blobKey, embedder.model, outcome);
}

/**
 * The texts of a stored copy, reading only what extraction needs of it (the start of a large text file,
 * nothing of a format we do not read), held within the process's body budget. Null when the copy is missing.
 */
export function deriveStoredCopy(
  blobs: BlobStore,
  file: { blobKey: string; contentType: string; name: string; size: number },
  log: typeof logger = logger,
): Promise<DerivedTexts | null> {
  const bytes = bytesToExtract(file, MAX_TEXT_CHARS);
  return withBodyInMemory(bytes, async () => {
    const body = await readStoredCopy(blobs, file.blobKey, bytes < file.size ? bytes : undefined);
    return body && deriveTexts({ body, contentType: file.contentType, name: file.name }, log);
  });
}

/** A stored copy's bytes (its first ones); null when it is missing. Any other failure (store unreachable, permissions) throws, to retry. */
async function readStoredCopy(blobs: BlobStore, blobKey: string, firstBytes?: number): Promise<Uint8Array | null> {
  try {
    return await blobs.get(blobKey, { firstBytes });
  } catch (error) {
    if (!(await blobs.exists(blobKey))) return null;
    throw error;
  }
}

export type DerivedTexts = { status: "ready"; texts: string[] } | { status: "failed"; error: string };

/**
 * The entries of one file's content: extracted text, capped, split. A file that cannot be read ends
 * "failed" with a reason users can read; nothing here touches the database or the network.
 */
export async function deriveTexts(
  file: { body: Uint8Array; contentType: string; name: string },
  log: typeof logger = logger,
): Promise<DerivedTexts> {
  try {
    const extracted = await extractText(file, { maxChars: MAX_TEXT_CHARS });
    if (extracted.kind === "unsupported") return { status: "ready", texts: [] };
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
    return { status: "ready", texts };
  } catch (error) {
    const reason = reasonFor(error);
    log.warn({ err: error, reason }, "File processing failed");
    return { status: "failed", error: reason };
  }
}

/**
 * Embeds the texts of one file or many in one call to the embedder. An embeddings service that is down or
 * rate-limiting throws, to be retried: a fault, not a bad file. One that refuses the input (a non-retryable
 * answer) fails only the files it refuses: with several files, each is then embedded on its own to find them.
 */
export async function embedFiles(
  embedder: Embedder,
  items: { texts: string[] }[],
): Promise<({ vectors: number[][] } | { error: string })[]> {
  const texts = items.flatMap((item) => item.texts);
  if (!texts.length) return items.map(() => ({ vectors: [] }));
  let vectors: number[][];
  try {
    vectors = await embedder.embed(texts);
  } catch (error) {
    if (!(error instanceof EmbeddingError) || error.retryable) throw error;
    if (items.length === 1) return [{ error: error.message }];
    const each: ({ vectors: number[][] } | { error: string })[] = [];
    for (const item of items) each.push(...(await embedFiles(embedder, [item])));
    return each;
  }
  if (vectors.length !== texts.length)
    throw new EmbeddingError(`The embedder returned ${vectors.length} vectors for ${texts.length} entries.`);
  let offset = 0;
  return items.map((item) => {
    const slice = vectors.slice(offset, offset + item.texts.length);
    offset += item.texts.length;
    return { vectors: slice };
  });
}

function reasonFor(error: unknown): string {
  if (error instanceof ExtractionError || error instanceof EmbeddingError) return error.message;
  const message = error instanceof Error ? (error.message.split("\n")[0] ?? "").trim() : "";
  const clipped = message.length > 200 ? `${message.slice(0, 200)}…` : message;
  return clipped ? `This file could not be processed: ${clipped}` : "This file could not be processed.";
}

async function write(
  db: Database,
  fileId: string,
  blobKey: string,
  model: string,
  outcome: Outcome,
): Promise<ProcessResult> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select({ blobKey: files.blobKey }).from(files).where(eq(files.id, fileId)).for("update");
    // Deleted, or replaced by a newer version whose own processing will write its entries.
    if (!current || current.blobKey !== blobKey) return { status: "gone", entries: 0 } satisfies ProcessResult;

    await tx.delete(entries).where(eq(entries.fileId, fileId));
    if (outcome.status === "failed") {
      await tx
        .update(files)
        .set({ status: "failed", error: outcome.error, updatedAt: new Date() })
        .where(eq(files.id, fileId));
      return { status: "failed", entries: 0, error: outcome.error } satisfies ProcessResult;
    }

    await insertEntries(tx, model, [{ fileId, texts: outcome.texts, vectors: outcome.vectors }]);
    await tx.update(files).set({ status: "ready", error: null, updatedAt: new Date() }).where(eq(files.id, fileId));
    return { status: "ready", entries: outcome.texts.length } satisfies ProcessResult;
  });
}

/** Writes the entries and embeddings of files (whose old entries are gone), a bounded number of rows per statement. */
export async function insertEntries(
  tx: DbOrTx,
  model: string,
  items: { fileId: string; texts: string[]; vectors: number[][] }[],
) {
  const rows = items.flatMap((item) =>
    item.texts.map((text, ordinal) => ({
      fileId: item.fileId,
      ordinal,
      text,
      vector: defined(item.vectors[ordinal], `the vector of entry ${ordinal} of file ${item.fileId}`),
    })),
  );
  for (let start = 0; start < rows.length; start += INSERT_BATCH) {
    const slice = rows.slice(start, start + INSERT_BATCH);
    const inserted = await tx
      .insert(entries)
      .values(slice.map(({ fileId, ordinal, text }) => ({ fileId, ordinal, text })))
      .returning({ id: entries.id });
    // RETURNING gives the rows in the order of VALUES for a plain multi-row insert.
    await tx.insert(embeddings).values(
      inserted.map((row, i) => ({
        entryId: row.id,
        model,
        vector: realArray(defined(slice[i], `entry ${row.id}'s row`).vector),
      })),
    );
  }
}

/**
 * A vector as one real[] literal. Drizzle maps an array column element by element through the column's
 * mapper (~400 calls a vector): 4% of a backfill's CPU, where joining the numbers is one call.
 */
function realArray(vector: number[]) {
  return sql`${`{${vector.join(",")}}`}::real[]`;
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
