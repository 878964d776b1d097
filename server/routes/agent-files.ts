/**
 * The agent API: `PUT` writes a file by name, `GET` reads one. Authenticated by a container-scoped
 * API token (`Authorization: Bearer wire_...`); a token only opens its own container.
 */
import "server-only";
import { getDb } from "@/db/client";
import { eventOutbox } from "@/inngest/outbox";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { AppError, notFound } from "@/server/errors";
import { handle, webStream } from "@/server/http";
import { spoolRequestBody } from "@/server/request-body";
import { authenticateApiToken } from "@/server/services/api-tokens";
import { readFile, writeFile } from "@/server/services/files";

type Params = { params: Promise<{ containerId: string; name: string[] }> };

/** The file name is the rest of the raw path, each segment percent-decoded exactly once. */
function fileNameFromPath(request: Request, containerId: string): string {
  const prefix = `/api/v1/containers/${containerId}/files/`;
  const rest = new URL(request.url).pathname.slice(prefix.length);
  try {
    return rest.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw new AppError("BAD_REQUEST", "The file name in the path is not valid percent-encoding.", "name");
  }
}

async function authorize(request: Request, params: Params["params"]) {
  const header = request.headers.get("authorization") ?? "";
  const token = header.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) throw new AppError("UNAUTHORIZED", "Send an API token as 'Authorization: Bearer <token>'.");
  const grant = await authenticateApiToken(getDb(), token);
  if (!grant) throw new AppError("UNAUTHORIZED", "This API token is unknown or was revoked.");
  const { containerId } = await params;
  if (grant.containerId !== containerId) throw notFound("Container");
  return { containerId, name: fileNameFromPath(request, containerId) };
}

export function putAgentFile(request: Request, { params }: Params) {
  return handle(request, async () => {
    const { containerId, name } = await authorize(request, params);
    const maxBytes = env().WIRE_MAX_UPLOAD_BYTES;
    const body = await spoolRequestBody(request, maxBytes);
    const file = await writeFile(
      getDb(),
      { blobs: blobStore(), events: eventOutbox() },
      {
        containerId,
        name,
        contentType: request.headers.get("content-type") ?? "application/octet-stream",
        body,
        origin: "agent",
        createdBy: null,
        maxBytes,
      },
    ).finally(() => body.dispose());
    return Response.json(
      { id: file.id, name: file.name, size: file.size, contentType: file.contentType, status: file.status },
      { status: 200 },
    );
  });
}

export function getAgentFile(request: Request, { params }: Params) {
  return handle(request, async () => {
    const { containerId, name } = await authorize(request, params);
    const { file, copy } = await readFile(getDb(), blobStore(), { containerId, name });
    return new Response(webStream(copy.stream), {
      headers: {
        "content-type": file.contentType,
        "content-length": String(copy.size),
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      },
    });
  });
}
