/**
 * The one error sealing and unsealing throw. Messages are fixed sentences plus identifiers (key ids, file
 * paths): never plaintext, key material or ciphertext, so a SealError is safe to log.
 */
import "server-only";

export type SealErrorCode =
  /** Authentication failed: the record was altered, or it is being opened with another record's context. */
  | "tampered"
  /** The data key was wrapped by a key-encryption key this provider does not have. */
  | "unknown-key"
  /** The stored value is not a SealedSecret, or the plaintext/context given to seal() is not string fields. */
  | "malformed"
  /** Sealed by another KMS provider than the one configured. */
  | "provider-mismatch"
  /** The KMS could not be asked (network, throttling, access denied, disabled key): may succeed later. */
  | "kms-unavailable";

export const TAMPERED_MESSAGE = "Sealed credentials were tampered with or do not belong to this record";

export class SealError extends Error {
  override readonly name = "SealError";
  readonly code: SealErrorCode;

  constructor(code: SealErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static tampered(options?: { cause?: unknown }): SealError {
    return new SealError("tampered", TAMPERED_MESSAGE, options);
  }
}

/** A key id as it may appear in a message: quoted, and cut short if someone stored something huge. */
export function quoteKekId(kekId: string): string {
  return JSON.stringify(kekId.length > 200 ? `${kekId.slice(0, 200)}…` : kekId);
}
