/**
 * Files of a container. Uploads and agent writes address a file by name: writing a name again replaces
 * that file's content in place (same identity). Files a connector source created are managed by that
 * source and cannot be written or deleted here.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import { and, asc, count, desc, eq, ilike, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { files, sourceObjects, sources } from "@/db/schema";
import { fileStored } from "@/inngest/events";
import type { EventOutbox } from "@/inngest/outbox";
import { deleteBlobs, forgetBlobs, noteBlobsToDelete, noteBlobsWriting } from "@/server/blobs/ledger";
import { requestSync } from "@/server/services/sources";
import { bodySize, type BlobBody, type BlobStore } from "@/server/blobs";
import { AppError, notFound } from "@/server/errors";
import { textProblem } from "@/server/schemas";
import { containerBlobPrefix } from "@/server/services/containers";
import type { FileSortKey } from "@/server/schemas";
import { defined } from "@/server/defined";

export const FILE_NAME_MAX = 512;

/** Why a name is unusable, or null. Names may contain folders ("notes/today.md") but no empty or dot segments. */
export function fileNameProblem(name: string): string | null {
  if (!name.trim()) return "A file name is required.";
  if (name.length > FILE_NAME_MAX) return `File names can be at most ${FILE_NAME_MAX} characters.`;
  if (textProblem(name, "name")) return "File names cannot contain control or text-direction characters.";
  if (name.startsWith("/") || name.endsWith("/")) return "File names cannot start or end with '/'.";
  if (name.split("/").some((part) => part === "" || part === "." || part === "..")) {
    return "File names cannot contain empty, '.' or '..' folders.";
  }
  return null;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function listFiles(
  db: DbOrTx,
  params: {
    containerId: string;
    search?: string;
    page: number;
    pageSize: number;
    sort?: { by: FileSortKey; dir: "asc" | "desc" };
  },
) {
  const sort = params.sort ?? { by: "updated", dir: "desc" };
  const direction = sort.dir === "asc" ? asc : desc;
  // Origin sorts by its name (agent, connector, upload), not the enum's declaration order.
  const sortColumn = {
    name: files.name,
    size: files.size,
    origin: sql`${files.origin}::text`,
    updated: files.updatedAt,
  }[sort.by];
  const where = and(
    eq(files.containerId, params.containerId),
    params.search?.trim() ? ilike(files.name, `%${escapeLike(params.search.trim())}%`) : undefined,
  );
  const [items, [total]] = await Promise.all([
    db
      .select({
        id: files.id,
        name: files.name,
        size: files.size,
        contentType: files.contentType,
        origin: files.origin,
        status: files.status,
        error: files.error,
        updatedAt: files.updatedAt,
        source: sql<
          string | null
        >`case when ${sources.id} is null then null else ${sources.bucket} || '/' || ${sources.prefix} end`,
      })
      .from(files)
      .leftJoin(sources, eq(sources.id, files.sourceId))
      .where(where)
      // Ties (same size, same origin) are broken by id, so pages never overlap or skip.
      .orderBy(direction(sortColumn), direction(files.id))
      .limit(params.pageSize)
      .offset((params.page - 1) * params.pageSize),
    db.select({ n: count() }).from(files).where(where),
  ]);
  return { items, total: total?.n ?? 0, page: params.page, pageSize: params.pageSize };
}

export interface WriteFileParams {
  containerId: string;
  name: string;
  contentType: string;
  /** In memory, or spooled to a temporary file by the route that read it (the caller disposes of it). */
  body: BlobBody;
  origin: "upload" | "agent";
  createdBy: string | null;
  maxBytes: number;
}

/**
 * Stores the copy first (noted in the blob ledger), then records the file as processing with its
 * processing event in the same transaction; a replaced version's old copy is removed afterwards, and the
 * processing pipeline (process-file) takes it from there, as for every other origin.
 */
export async function writeFile(db: DbOrTx, deps: { blobs: BlobStore; events: EventOutbox }, params: WriteFileParams) {
  const { blobs } = deps;
  const problem = fileNameProblem(params.name);
  if (problem) throw new AppError("BAD_REQUEST", problem, "name");
  const size = bodySize(params.body);
  if (size > params.maxBytes) {
    throw new AppError("PAYLOAD_TOO_LARGE", `Files can be at most ${formatMegabytes(params.maxBytes)}.`, "file");
  }
  const contentType = (params.contentType.split(";")[0] ?? "").trim().toLowerCase() || "application/octet-stream";
  const blobKey = `${containerBlobPrefix(params.containerId)}${randomUUID()}`;
  await noteBlobsWriting(db, [blobKey]);
  await blobs.put(blobKey, params.body);
  try {
    return await db
      .transaction(async (tx) => {
        // One writer per name at a time: without it, two first writes of a name both see no previous
        // version and the loser's stored copy is never removed.
        await tx.execute(
          sql`select pg_advisory_xact_lock(hashtextextended(${`${params.containerId}/${params.name}`}, 0))`,
        );
        // One name, one file: a name a connector source mirrors belongs to that source.
        const [mirrored] = await tx
          .select({ bucket: sources.bucket, prefix: sources.prefix })
          .from(files)
          .innerJoin(sources, eq(sources.id, files.sourceId))
          .where(and(eq(files.containerId, params.containerId), eq(files.name, params.name)))
          .limit(1);
        if (mirrored) {
          throw new AppError(
            "CONFLICT",
            `${params.name} is mirrored from the source ${mirrored.bucket}/${mirrored.prefix}; it changes only in the bucket. Write it under another name.`,
            "name",
          );
        }
        const [previous] = await tx
          .select({ blobKey: files.blobKey })
          .from(files)
          .where(and(eq(files.containerId, params.containerId), eq(files.name, params.name), isNull(files.sourceId)))
          .for("update");
        const values = {
          contentType,
          size,
          blobKey,
          origin: params.origin,
          status: "processing" as const,
          error: null,
          updatedAt: new Date(),
        };
        const [stored] = await tx
          .insert(files)
          .values({ ...values, containerId: params.containerId, name: params.name, createdBy: params.createdBy })
          .onConflictDoUpdate({
            target: [files.containerId, files.name],
            targetWhere: isNull(files.sourceId),
            set: values,
          })
          .returning();
        const file = defined(stored, "the stored file");
        await forgetBlobs(tx, [blobKey]);
        const replaced = previous?.blobKey ? [previous.blobKey] : [];
        await noteBlobsToDelete(tx, replaced);
        await deps.events.record(tx, [fileStored.create({ fileId: file.id, containerId: file.containerId })]);
        return { file, replaced };
      })
      .then(async ({ file, replaced }) => {
        await deps.events.flush();
        await deleteBlobs(db, blobs, replaced);
        return file;
      });
  } catch (error) {
    await deleteBlobs(db, blobs, [blobKey]);
    throw error;
  }
}

function formatMegabytes(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
}

async function findFile(db: DbOrTx, params: { containerId: string; fileId?: string; name?: string }) {
  const [file] = await db
    .select()
    .from(files)
    .where(
      and(
        eq(files.containerId, params.containerId),
        params.fileId ? eq(files.id, params.fileId) : undefined,
        params.name !== undefined ? eq(files.name, params.name) : undefined,
      ),
    )
    // Connector files may share a name with a written one; by name, the written file wins.
    .orderBy(sql`${files.sourceId} nulls first`)
    .limit(1);
  if (!file) throw notFound("File");
  return file;
}

export async function readFile(
  db: DbOrTx,
  blobs: BlobStore,
  params: { containerId: string; fileId?: string; name?: string },
) {
  const file = await findFile(db, params);
  if (!file.blobKey)
    throw new AppError(
      "CONFLICT",
      `This file could not be read from its bucket: ${file.error ?? "no copy was stored"}`,
    );
  return { file, copy: await blobs.open(file.blobKey) };
}

export async function deleteFile(db: DbOrTx, blobs: BlobStore, params: { containerId: string; fileId: string }) {
  const [deleted] = await db
    .delete(files)
    .where(and(eq(files.id, params.fileId), eq(files.containerId, params.containerId), isNull(files.sourceId)))
    .returning({ blobKey: files.blobKey });
  if (!deleted) {
    await findFile(db, params); // NOT_FOUND when it does not exist at all
    throw new AppError(
      "BAD_REQUEST",
      "This file comes from a connector source; it is removed when it disappears from the bucket or the source is detached.",
    );
  }
  if (deleted.blobKey) await blobs.delete(deleted.blobKey);
}

/**
 * Runs processing again for a file that failed it. An uploaded or agent-written file is processed again from
 * its stored copy; a connector file is read again from its bucket, by a sync of its source started now (or
 * right after the one running).
 */
export async function retryProcessing(
  db: DbOrTx,
  events: EventOutbox,
  params: { containerId: string; fileId: string },
) {
  const file = await findFile(db, params);
  if (file.status !== "failed") throw new AppError("CONFLICT", "Only files whose processing failed can be retried.");
  if (file.sourceId) {
    await db
      .update(sourceObjects)
      .set({ needsImport: true, importRunId: null, importBatch: null })
      .where(and(eq(sourceObjects.sourceId, file.sourceId), eq(sourceObjects.fileId, file.id)));
    await requestSync(db, events, { containerId: params.containerId, sourceId: file.sourceId });
    return;
  }
  const retried = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(files)
      .set({ status: "processing", error: null })
      .where(and(eq(files.id, params.fileId), eq(files.containerId, params.containerId), eq(files.status, "failed")))
      .returning({ id: files.id });
    if (row) await events.record(tx, [fileStored.create({ fileId: row.id, containerId: params.containerId })]);
    return row;
  });
  if (!retried) throw new AppError("CONFLICT", "Only files whose processing failed can be retried.");
  await events.flush();
}
