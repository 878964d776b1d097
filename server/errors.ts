/**
 * Typed errors thrown by services. Each code means one thing:
 * UNAUTHORIZED no session · FORBIDDEN role or level too low · NOT_FOUND not visible to the caller ·
 * BAD_REQUEST invalid input · CONFLICT clashes with current state · PAYLOAD_TOO_LARGE over a size limit.
 */
export type AppErrorCode = "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "BAD_REQUEST" | "CONFLICT" | "PAYLOAD_TOO_LARGE";

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
