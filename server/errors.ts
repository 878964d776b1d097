/**
 * Typed errors thrown by services. Each code means one thing:
 * UNAUTHORIZED no session · FORBIDDEN role or level too low · NOT_FOUND not visible to the caller ·
 * BAD_REQUEST invalid input · CONFLICT clashes with current state · PAYLOAD_TOO_LARGE over a size limit.
 */
export type AppErrorCode =
  "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "BAD_REQUEST" | "CONFLICT" | "PAYLOAD_TOO_LARGE";

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    /** Which input field the message is about, for forms. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const HTTP_STATUS: Record<AppErrorCode, number> = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_REQUEST: 400,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
};

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);

/**
 * What of an unexpected error goes into the logs: type, message, stack frames and causes, but never the
 * parameters of a failed query (drizzle puts them in the message; they can hold sealed credentials).
 */
export function errorForLog(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: typeof error === "string" ? error : "non-Error thrown" };
  const failedQuery = "query" in error && "params" in error;
  const out: Record<string, unknown> = {
    type: error.name,
    message: failedQuery ? "Failed query" : error.message,
    // Frames only: the first line of a stack repeats the message.
    stack: error.stack
      ?.split("\n")
      .filter((line) => line.trimStart().startsWith("at "))
      .join("\n"),
  };
  if (failedQuery) out.query = String((error as { query: unknown }).query);
  if ("code" in error && typeof error.code === "string") out.code = error.code;
  if (error.cause !== undefined && depth < 3) out.cause = errorForLog(error.cause, depth + 1);
  return out;
}
