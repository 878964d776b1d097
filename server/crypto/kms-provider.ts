/** What envelope.ts needs from a key-encryption-key provider, and the context both providers authenticate. */
import { z } from "zod";
import { SealError } from "./errors";

export interface KmsProvider {
  readonly name: "local" | "aws-kms";
  wrapKey(dataKey: Buffer, context: Record<string, string>): Promise<{ kekId: string; wrapped: Buffer }>;
  unwrapKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer>;
  currentKekId(): Promise<string>;
}

const contextSchema = z.record(z.string(), z.string());

/**
 * The encryption context as additional authenticated data: JSON with keys in sorted order, so the same
 * context always authenticates the same bytes whatever order the caller wrote it in.
 */
export function contextAad(context: Record<string, string>): Buffer {
  const parsed = contextSchema.safeParse(context);
  if (!parsed.success || Object.keys(parsed.data).length === 0) {
    throw new SealError("malformed", "The encryption context must be a non-empty object of string values");
  }
  const entries = Object.entries(parsed.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`, "utf8");
}
