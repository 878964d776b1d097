/**
 * Key-encryption keys (KEKs) behind one small interface (kms-provider.ts). A KmsProvider wraps and unwraps the
 * per-record data keys of server/crypto/envelope.ts; it never sees credentials themselves.
 *
 * - local (default, kms-local.ts): a key file, WIRE_DATA_DIR/secrets/kek.json or WIRE_KEK_FILE.
 * - aws-kms (kms-aws.ts): AWS KMS, when WIRE_KMS_AWS_KEY_ID is set.
 */
import "server-only";
import path from "node:path";
import { KMSClient } from "@aws-sdk/client-kms";
import { env, type Env } from "@/server/env";
import { AwsKmsProvider, regionOfKeyArn } from "./kms-aws";
import { LocalKmsProvider } from "./kms-local";
import type { KmsProvider } from "./kms-provider";

export { AwsKmsProvider, regionOfKeyArn } from "./kms-aws";
export { KeyFileError, LocalKmsProvider } from "./kms-local";
export { contextAad, type KmsProvider } from "./kms-provider";

export function defaultKeyFile(config: Env = env()): string {
  return config.WIRE_KEK_FILE ? path.resolve(config.WIRE_KEK_FILE) : path.join(config.dataDir, "secrets", "kek.json");
}

/** The provider a configuration asks for: AWS KMS when WIRE_KMS_AWS_KEY_ID is set, else the local key file. */
export function createKmsProvider(config: Env): KmsProvider {
  const keyId = config.WIRE_KMS_AWS_KEY_ID;
  if (keyId) {
    const region = config.WIRE_KMS_AWS_REGION ?? regionOfKeyArn(keyId);
    // Credentials come from the AWS SDK's default chain (environment, shared config, instance role).
    return new AwsKmsProvider(keyId, new KMSClient(region ? { region } : {}));
  }
  return new LocalKmsProvider(defaultKeyFile(config));
}

let provider: KmsProvider | undefined;

/** The configured provider, one per process. */
export function kmsProvider(): KmsProvider {
  provider ??= createKmsProvider(env());
  return provider;
}
