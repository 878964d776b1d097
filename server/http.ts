/** Helpers for the few plain route handlers (uploads, downloads, the agent API). */
import "server-only";
import { Readable } from "node:stream";
import { env } from "./env";
import { AppError, errorForLog, HTTP_STATUS } from "./errors";
import { requestIdFrom } from "./ids";
import { logger } from "./logger";
import { isSameOrigin } from "./security-headers";

export function errorResponse(error: AppError): Response {
  return Response.json(
    { error: { code: error.code, message: error.message, field: error.field ?? null } },
    { status: HTTP_STATUS[error.code] },
  );
}

/** Runs a handler, turning service errors into JSON errors and anything else into a logged 500. */
export async function handle(request: Request, handler: (requestId: string) => Promise<Response>): Promise<Response> {
  const requestId = requestIdFrom(request.headers);
  try {
    const response = await handler(requestId);
    response.headers.set("x-request-id", requestId);
    return response;
  } catch (error) {
    if (error instanceof AppError) return errorResponse(error);
    logger.error(
      { requestId, method: request.method, url: new URL(request.url).pathname, err: errorForLog(error) },
      "request failed",
    );
    return Response.json(
      {
        error: {
          code: "INTERNAL_SERVER_ERROR",
          message: `Something went wrong on our side (request ${requestId}).`,
          requestId,
        },
      },
      { status: 500, headers: { "x-request-id": requestId } },
    );
  }
}

/** A stored copy as a response body: read as the client takes it (never held whole), closed if the client goes. */
export function webStream(stream: Readable): ReadableStream<Uint8Array> {
  return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
}

/** Content-Disposition that survives any file name (RFC 6266 filename*). */
export function attachmentHeader(name: string): string {
  const base = name.split("/").pop() ?? name;
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

/** Refuses a cookie-authenticated mutation sent from any origin but the app's own (see isSameOrigin). */
export function assertSameOrigin(request: Request): void {
  if (!isSameOrigin(request.headers, new URL(env().WIRE_PUBLIC_URL).origin)) {
    throw new AppError("FORBIDDEN", "This request came from another site and was refused.");
  }
}
