import { z } from "zod";

const uuid = z.uuid();

/** Ids in URLs are checked before they reach a query: a malformed one is simply not found. */
export function isUuid(value: string): boolean {
  return uuid.safeParse(value).success;
}
