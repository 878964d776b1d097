import { getDb } from "@/db/client";
import { eventOutbox } from "@/inngest/outbox";
import { getSessionUser } from "@/server/auth";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { AppError } from "@/server/errors";
import { handle } from "@/server/http";
import { requireContainerLevel } from "@/server/services/authorization";
import { writeFile } from "@/server/services/files";

/** Browser uploads: multipart form data with one or more `file` fields. Needs edit access. */
export function POST(request: Request, { params }: { params: Promise<{ containerId: string }> }) {
  return handle(request, async () => {
    const user = await getSessionUser(request.headers);
    if (!user) throw new AppError("UNAUTHORIZED", "Sign in to continue.");
    const { containerId } = await params;
    const db = getDb();
    await requireContainerLevel(db, { containerId, userId: user.id, need: "edit" });

    const maxBytes = env().WIRE_MAX_UPLOAD_BYTES;
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > maxBytes * 20) throw new AppError("PAYLOAD_TOO_LARGE", "This upload is too large.", "file");
    const form = await request.formData().catch(() => {
      throw new AppError("BAD_REQUEST", "Send the files as multipart/form-data.", "file");
    });
    const uploads = form.getAll("file").filter((v): v is File => typeof v !== "string");
    if (!uploads.length) throw new AppError("BAD_REQUEST", "Choose at least one file to upload.", "file");

    const written = [];
    for (const upload of uploads) {
      const file = await writeFile(db, { blobs: blobStore(), events: eventOutbox() }, {
        containerId,
        name: upload.name,
        contentType: upload.type,
        body: new Uint8Array(await upload.arrayBuffer()),
        origin: "upload",
        createdBy: user.id,
        maxBytes,
      });
      written.push({ id: file.id, name: file.name, size: file.size });
    }
    return Response.json({ files: written }, { status: 201 });
  });
}
