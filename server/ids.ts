import { z } from "zod";

const uuid = z.uuid();

/** Ids in URLs are checked before they reach a query: a malformed one is simply not found. */
export function isUuid(value: string): boolean {
  return uuid.safeParse(value).success;
}

/** A caller's X-Request-Id when it is a plain token (it goes into logs and messages), else a fresh one. */
export function requestIdFrom(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : crypto.randomUUID();
}
