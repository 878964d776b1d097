import { getDb } from "@/db/client";
import { getSessionUser } from "@/server/auth";
import { blobStore } from "@/server/blobs";
import { AppError, notFound } from "@/server/errors";
import { attachmentHeader, handle } from "@/server/http";
import { requireContainerLevel } from "@/server/services/authorization";
import { readFile } from "@/server/services/files";
import { isUuid } from "@/server/ids";

/** Downloads a file's stored copy. Needs view access. */
export function GET(request: Request, { params }: { params: Promise<{ containerId: string; fileId: string }> }) {
  return handle(request, async () => {
    const user = await getSessionUser(request.headers);
    if (!user) throw new AppError("UNAUTHORIZED", "Sign in to continue.");
    const { containerId, fileId } = await params;
    if (!isUuid(containerId) || !isUuid(fileId)) throw notFound("File");
    const db = getDb();
    await requireContainerLevel(db, { containerId, userId: user.id, need: "view" });
    const { file, body } = await readFile(db, blobStore(), { containerId, fileId });
    return new Response(new Uint8Array(body), {
      headers: {
        "content-type": file.contentType,
        "content-disposition": attachmentHeader(file.name),
        "x-content-type-options": "nosniff",
        "cache-control": "private, no-store",
      },
    });
  });
}
