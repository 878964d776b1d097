/** AWS KMS Encrypt/Decrypt (when WIRE_KMS_AWS_KEY_ID is set), with the context as EncryptionContext. */
import "server-only";
import { DecryptCommand, EncryptCommand, type KMSClient } from "@aws-sdk/client-kms";
import { quoteKekId, SealError } from "./errors";
import { contextAad, type KmsProvider } from "./kms-provider";

/** Decrypt errors that mean "this ciphertext, key and context do not belong together". */
const TAMPERED_ERRORS = new Set(["InvalidCiphertextException", "IncorrectKeyException"]);
const UNKNOWN_KEY_ERRORS = new Set(["NotFoundException", "InvalidArnException"]);

function awsErrorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : "Error";
}

export class AwsKmsProvider implements KmsProvider {
  readonly name = "aws-kms" as const;

  constructor(
    readonly keyId: string,
    readonly client: KMSClient,
  ) {}

  currentKekId(): Promise<string> {
    return Promise.resolve(this.keyId);
  }

  async wrapKey(dataKey: Buffer, context: Record<string, string>): Promise<{ kekId: string; wrapped: Buffer }> {
    contextAad(context); // same validation as the local provider
    let output;
    try {
      output = await this.client.send(
        new EncryptCommand({ KeyId: this.keyId, Plaintext: dataKey, EncryptionContext: { ...context } }),
      );
    } catch (error) {
      throw new SealError(
        "kms-unavailable",
        `AWS KMS could not wrap a data key with ${quoteKekId(this.keyId)} (${awsErrorName(error)})`,
        {
          cause: error,
        },
      );
    }
    if (!output.CiphertextBlob || !output.KeyId) {
      throw new SealError("kms-unavailable", `AWS KMS returned no ciphertext or key id for ${quoteKekId(this.keyId)}`);
    }
    return { kekId: output.KeyId, wrapped: Buffer.from(output.CiphertextBlob) };
  }

  async unwrapKey(kekId: string, wrapped: Buffer, context: Record<string, string>): Promise<Buffer> {
    contextAad(context);
    let output;
    try {
      output = await this.client.send(
        new DecryptCommand({ KeyId: kekId, CiphertextBlob: wrapped, EncryptionContext: { ...context } }),
      );
    } catch (error) {
      const name = awsErrorName(error);
      if (TAMPERED_ERRORS.has(name)) throw SealError.tampered({ cause: error });
      if (UNKNOWN_KEY_ERRORS.has(name)) {
        throw new SealError(
          "unknown-key",
          `Unknown key-encryption key ${quoteKekId(kekId)}: AWS KMS has no such key (${name})`,
          { cause: error },
        );
      }
      throw new SealError(
        "kms-unavailable",
        `AWS KMS could not unwrap the data key with ${quoteKekId(kekId)} (${name})`,
        { cause: error },
      );
    }
    if (!output.Plaintext)
      throw new SealError("kms-unavailable", `AWS KMS returned no plaintext for ${quoteKekId(kekId)}`);
    // A view, not a copy: the caller zeroes the data key after use, and that must reach these bytes.
    return Buffer.from(output.Plaintext.buffer, output.Plaintext.byteOffset, output.Plaintext.byteLength);
  }
}

/** arn:aws:kms:eu-west-1:123456789012:key/… → eu-west-1 */
export function regionOfKeyArn(keyId: string): string | undefined {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyId)?.[1];
}
