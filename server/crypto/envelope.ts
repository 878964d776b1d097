/**
 * Envelope encryption of connector credentials (DESIGN.md §7). Each seal draws a fresh 256-bit data key,
 * encrypts the JSON of the secret fields with AES-256-GCM under it, and has the KMS provider wrap the data key
 * under its current key-encryption key. The caller's context (e.g. { connectorId, orgId }) is authenticated
 * by both layers, so a sealed value copied onto another record does not open there.
 *
 * unseal() has exactly ONE caller: the connectors credential module, which records a credential_reads row
 * (actor, purpose) before every read. Do not call it from anywhere else; go through that module instead.
 * rewrap() never decrypts the credentials themselves, only the data key, so rotation is not a read.
 */
import "server-only";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { z } from "zod";
import { quoteKekId, SealError } from "./errors";
import { contextAad, kmsProvider, type KmsProvider } from "./kms";

export { SealError, type SealErrorCode } from "./errors";

/** A sealed secret as stored in a jsonb column; every binary field is base64. */
export interface SealedSecret {
  v: 1;
  kms: "local" | "aws-kms";
  kekId: string;
  wrappedKey: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const base64Bytes = (bytes?: number) =>
  z.base64().refine((s) => (bytes === undefined ? s.length > 0 : Buffer.from(s, "base64").length === bytes));

const sealedSecretSchema = z.object({
  v: z.literal(1),
  kms: z.enum(["local", "aws-kms"]),
  kekId: z.string().min(1).max(2048),
  wrappedKey: base64Bytes(),
  iv: base64Bytes(IV_BYTES),
  tag: base64Bytes(TAG_BYTES),
  ciphertext: base64Bytes(),
}) satisfies z.ZodType<SealedSecret>;

const fieldsSchema = z.record(z.string(), z.string());

/** A stored value as a SealedSecret, or a SealError naming the fields that are wrong (never their values). */
export function parseSealedSecret(value: unknown): SealedSecret {
  const parsed = sealedSecretSchema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join(".") || "(root)"))].join(", ");
    throw new SealError(
      "malformed",
      `Sealed credentials are malformed (${fields}): they were tampered with or are not a sealed secret`,
    );
  }
  return parsed.data;
}

function checkProvider(sealed: SealedSecret, kms: KmsProvider): void {
  if (sealed.kms !== kms.name) {
    throw new SealError(
      "provider-mismatch",
      `Credentials were sealed with the ${sealed.kms} key provider (key ${quoteKekId(sealed.kekId)}), but Wire is configured for ${kms.name}`,
    );
  }
}

async function unwrapDataKey(sealed: SealedSecret, context: Record<string, string>, kms: KmsProvider): Promise<Buffer> {
  const dataKey = await kms.unwrapKey(sealed.kekId, Buffer.from(sealed.wrappedKey, "base64"), context);
  if (dataKey.length !== DATA_KEY_BYTES) {
    dataKey.fill(0);
    throw SealError.tampered();
  }
  return dataKey;
}

export async function seal(
  plaintext: Record<string, string>,
  context: Record<string, string>,
  kms: KmsProvider = kmsProvider(),
): Promise<SealedSecret> {
  const fields = fieldsSchema.safeParse(plaintext);
  if (!fields.success) throw new SealError("malformed", "Only an object of string fields can be sealed");
  const aad = contextAad(context);
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const body = Buffer.from(JSON.stringify(fields.data), "utf8");
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
    const tag = cipher.getAuthTag();
    const { kekId, wrapped } = await kms.wrapKey(dataKey, context);
    return {
      v: 1,
      kms: kms.name,
      kekId,
      wrappedKey: wrapped.toString("base64"),
      iv: iv.toString("base64"),
      tag: tag.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
    };
  } finally {
    dataKey.fill(0);
    body.fill(0);
  }
}

/** See the module comment: only the connectors credential module may call this. */
export async function unseal(
  sealed: SealedSecret,
  context: Record<string, string>,
  kms: KmsProvider = kmsProvider(),
): Promise<Record<string, string>> {
  const secret = parseSealedSecret(sealed);
  const aad = contextAad(context);
  checkProvider(secret, kms);
  const dataKey = await unwrapDataKey(secret, context, kms);
  let body: Buffer | undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", dataKey, Buffer.from(secret.iv, "base64"), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(secret.tag, "base64"));
    body = decipher.update(Buffer.from(secret.ciphertext, "base64"));
    try {
      decipher.final();
    } catch {
      throw SealError.tampered(); // unauthenticated bytes in `body` are zeroed below and never returned
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch {
      // No cause: JSON.parse messages quote their input.
      throw new SealError("malformed", "Sealed credentials decrypted to something other than string fields");
    }
    const fields = fieldsSchema.safeParse(value);
    if (!fields.success)
      throw new SealError("malformed", "Sealed credentials decrypted to something other than string fields");
    return fields.data;
  } finally {
    dataKey.fill(0);
    body?.fill(0);
  }
}

/**
 * The same ciphertext with its data key re-wrapped under the provider's current KEK (key rotation). Only the
 * data key is unwrapped, which also proves the context still matches; the credentials are not decrypted.
 */
export async function rewrap(
  sealed: SealedSecret,
  context: Record<string, string>,
  kms: KmsProvider = kmsProvider(),
): Promise<SealedSecret> {
  const secret = parseSealedSecret(sealed);
  contextAad(context);
  checkProvider(secret, kms);
  const dataKey = await unwrapDataKey(secret, context, kms);
  try {
    const { kekId, wrapped } = await kms.wrapKey(dataKey, context);
    return { ...secret, kms: kms.name, kekId, wrappedKey: wrapped.toString("base64") };
  } finally {
    dataKey.fill(0);
  }
}
