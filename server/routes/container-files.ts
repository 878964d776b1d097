/**
 * The browser's file routes (app/api/containers/[containerId]/files/**), session-authenticated: uploads and
 * downloads. Here rather than in app/ so that only server/ reaches the database.
 */
import "server-only";
import { getDb } from "@/db/client";
import { eventOutbox } from "@/inngest/outbox";
import { getSessionUser } from "@/server/auth";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { AppError, notFound } from "@/server/errors";
import { isUuid } from "@/server/ids";
import { assertSameOrigin, attachmentHeader, handle, webStream } from "@/server/http";
import { spoolMultipartFiles } from "@/server/request-body";
import { requireContainerLevel } from "@/server/services/authorization";
import { readFile, writeFile } from "@/server/services/files";

const MAX_FILES_PER_UPLOAD = 100;

/** Browser uploads: multipart form data with one or more `file` fields. Needs edit access. */
export function uploadContainerFiles(request: Request, { params }: { params: Promise<{ containerId: string }> }) {
  return handle(request, async () => {
    assertSameOrigin(request);
    const user = await getSessionUser(request.headers);
    if (!user) throw new AppError("UNAUTHORIZED", "Sign in to continue.");
    const { containerId } = await params;
    // A malformed id is simply not found, before it reaches a query.
    if (!isUuid(containerId)) throw notFound("Container");
    const db = getDb();
    await requireContainerLevel(db, { containerId, userId: user.id, need: "edit" });

    const maxBytes = env().WIRE_MAX_UPLOAD_BYTES;
    const uploads = await spoolMultipartFiles(request, { maxBytes, maxFiles: MAX_FILES_PER_UPLOAD });
    const written = [];
    try {
      if (!uploads.length) throw new AppError("BAD_REQUEST", "Choose at least one file to upload.", "file");
      for (const upload of uploads) {
        const file = await writeFile(
          db,
          { blobs: blobStore(), events: eventOutbox() },
          {
            containerId,
            name: upload.name,
            contentType: upload.contentType,
            body: upload.file,
            origin: "upload",
            createdBy: user.id,
            maxBytes,
          },
        );
        written.push({ id: file.id, name: file.name, size: file.size });
      }
    } finally {
      await Promise.all(uploads.map((u) => u.file.dispose()));
    }
    return Response.json({ files: written }, { status: 201 });
  });
}

/** Downloads a file's stored copy. Needs view access. */
export function downloadContainerFile(
  request: Request,
  { params }: { params: Promise<{ containerId: string; fileId: string }> },
) {
  return handle(request, async () => {
    const user = await getSessionUser(request.headers);
    if (!user) throw new AppError("UNAUTHORIZED", "Sign in to continue.");
    const { containerId, fileId } = await params;
    if (!isUuid(containerId) || !isUuid(fileId)) throw notFound("File");
    const db = getDb();
    await requireContainerLevel(db, { containerId, userId: user.id, need: "view" });
    const { file, copy } = await readFile(db, blobStore(), { containerId, fileId });
    return new Response(webStream(copy.stream), {
      headers: {
        "content-type": file.contentType,
        "content-length": String(copy.size),
        "content-disposition": attachmentHeader(file.name),
        "x-content-type-options": "nosniff",
        "cache-control": "private, no-store",
      },
    });
  });
}
