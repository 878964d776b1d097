import { randomBytes } from "node:crypto";
import {
  DecryptCommand,
  EncryptCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSClient,
  KMSServiceException,
  NotFoundException,
} from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { TAMPERED_MESSAGE } from "./errors";
import { rewrap, seal, SealError, unseal } from "./envelope";
import { AwsKmsProvider } from "./kms";
import { tempLocalKms } from "./test-helpers";

const KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const secret = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cr3t/KEY" };
const context = { connectorId: "c-1", orgId: "o-1" };

const kmsMock = mockClient(KMSClient);
afterAll(() => kmsMock.restore());

/**
 * A stand-in for KMS: Encrypt remembers (plaintext, context, key) under a random blob; Decrypt hands the
 * plaintext back only for the same blob, key and context, and fails like KMS otherwise.
 */
function fakeKms() {
  const blobs = new Map<string, { plaintext: Buffer; context: Record<string, string>; keyId: string }>();
  kmsMock.on(EncryptCommand).callsFake((input: EncryptCommand["input"]) => {
    const blob = randomBytes(48);
    blobs.set(blob.toString("hex"), {
      plaintext: Buffer.from(input.Plaintext!),
      context: { ...input.EncryptionContext },
      keyId: KEY_ARN,
    });
    return { CiphertextBlob: new Uint8Array(blob), KeyId: KEY_ARN, EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
  });
  kmsMock.on(DecryptCommand).callsFake((input: DecryptCommand["input"]) => {
    const entry = blobs.get(Buffer.from(input.CiphertextBlob!).toString("hex"));
    const sameContext =
      entry &&
      JSON.stringify(Object.entries(entry.context).sort()) ===
        JSON.stringify(Object.entries(input.EncryptionContext ?? {}).sort());
    if (!entry || !sameContext) throw new InvalidCiphertextException({ message: "", $metadata: {} });
    if (input.KeyId && input.KeyId !== entry.keyId)
      throw new IncorrectKeyException({
        message: "The key ID in the request does not identify a CMK that can perform this operation.",
        $metadata: {},
      });
    return { Plaintext: new Uint8Array(entry.plaintext), KeyId: entry.keyId };
  });
}

function provider(keyId = "alias/wire-credentials") {
  return new AwsKmsProvider(
    keyId,
    new KMSClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } }),
  );
}

async function sealError(promise: Promise<unknown>): Promise<SealError> {
  const error = await promise.then(
    () => {
      throw new Error("Expected a SealError");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SealError);
  for (const value of Object.values(secret)) expect((error as Error).message).not.toContain(value);
  return error as SealError;
}

beforeEach(() => {
  kmsMock.reset();
});

describe("AWS KMS provider", () => {
  it("wraps with Encrypt and unwraps with Decrypt, passing the context as EncryptionContext", async () => {
    fakeKms();
    const kms = provider();
    const sealed = await seal(secret, context, kms);
    expect(sealed).toMatchObject({ v: 1, kms: "aws-kms", kekId: KEY_ARN });

    const encrypts = kmsMock.commandCalls(EncryptCommand);
    expect(encrypts).toHaveLength(1);
    const encryptInput = encrypts[0]!.args[0].input;
    expect(encryptInput.KeyId).toBe("alias/wire-credentials");
    expect(encryptInput.EncryptionContext).toEqual(context);
    expect(encryptInput.Plaintext).toHaveLength(32); // only the data key goes to KMS, never the credentials

    expect(await unseal(sealed, context, kms)).toEqual(secret);
    const decryptInput = kmsMock.commandCalls(DecryptCommand)[0]!.args[0].input;
    expect(decryptInput.EncryptionContext).toEqual(context);
    expect(decryptInput.KeyId).toBe(KEY_ARN);
    expect(Buffer.from(decryptInput.CiphertextBlob!).toString("base64")).toBe(sealed.wrappedKey);
  });

  it("maps a Decrypt refusal for another context to SealError", async () => {
    fakeKms();
    const kms = provider();
    const sealed = await seal(secret, context, kms);
    const error = await sealError(unseal(sealed, { ...context, orgId: "o-2" }, kms));
    expect(error.code).toBe("tampered");
    expect(error.message).toBe(TAMPERED_MESSAGE);
    expect(kmsMock.commandCalls(DecryptCommand)[0]!.args[0].input.EncryptionContext).toEqual({
      ...context,
      orgId: "o-2",
    });
  });

  it("maps tampered wrapped keys and swapped key ids to SealError", async () => {
    fakeKms();
    const kms = provider();
    const sealed = await seal(secret, context, kms);
    const flipped = Buffer.from(sealed.wrappedKey, "base64");
    flipped[3]! ^= 1;
    expect((await sealError(unseal({ ...sealed, wrappedKey: flipped.toString("base64") }, context, kms))).code).toBe(
      "tampered",
    );
    const otherKey = KEY_ARN.replace("1234abcd", "9999abcd");
    expect((await sealError(unseal({ ...sealed, kekId: otherKey }, context, kms))).code).toBe("tampered");
  });

  it("maps a tampered ciphertext (which KMS cannot see) to SealError", async () => {
    fakeKms();
    const kms = provider();
    const sealed = await seal(secret, context, kms);
    const body = Buffer.from(sealed.ciphertext, "base64");
    body[0]! ^= 1;
    expect((await sealError(unseal({ ...sealed, ciphertext: body.toString("base64") }, context, kms))).code).toBe(
      "tampered",
    );
  });

  it("maps other Decrypt failures to SealError with a clear message", async () => {
    fakeKms();
    const kms = provider();
    const sealed = await seal(secret, context, kms);

    kmsMock.on(DecryptCommand).rejects(new NotFoundException({ message: "Key 'arn:…' does not exist", $metadata: {} }));
    const unknown = await sealError(unseal(sealed, context, kms));
    expect(unknown.code).toBe("unknown-key");
    expect(unknown.message).toBe(
      `Unknown key-encryption key "${KEY_ARN}": AWS KMS has no such key (NotFoundException)`,
    );

    // KMS answers IAM refusals with an error its model does not list.
    const accessDenied = new KMSServiceException({
      name: "AccessDeniedException",
      $fault: "client",
      message: "not authorized",
      $metadata: {},
    });
    kmsMock.on(DecryptCommand).rejects(accessDenied);
    const denied = await sealError(unseal(sealed, context, kms));
    expect(denied.code).toBe("kms-unavailable");
    expect(denied.message).toContain("AccessDeniedException");
    expect(denied.cause).toBe(accessDenied);

    kmsMock.on(DecryptCommand).rejects(new Error("socket hang up"));
    expect((await sealError(unseal(sealed, context, kms))).code).toBe("kms-unavailable");

    kmsMock.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(7), KeyId: KEY_ARN });
    expect((await sealError(unseal(sealed, context, kms))).code).toBe("tampered");
  });

  it("maps Encrypt failures to SealError", async () => {
    kmsMock.on(EncryptCommand).rejects(new Error("Region is missing"));
    const error = await sealError(seal(secret, context, provider()));
    expect(error.code).toBe("kms-unavailable");
    expect(error.message).toContain('"alias/wire-credentials"');
  });

  it("rewraps with Decrypt + Encrypt and keeps the ciphertext", async () => {
    fakeKms();
    const kms = provider();
    const sealed = await seal(secret, context, kms);
    const rewrapped = await rewrap(sealed, context, kms);
    expect(rewrapped).toMatchObject({
      kms: "aws-kms",
      kekId: KEY_ARN,
      ciphertext: sealed.ciphertext,
      iv: sealed.iv,
      tag: sealed.tag,
    });
    expect(rewrapped.wrappedKey).not.toBe(sealed.wrappedKey);
    expect(kmsMock.commandCalls(EncryptCommand).map((c) => c.args[0].input.EncryptionContext)).toEqual([
      context,
      context,
    ]);
    expect(await unseal(rewrapped, context, kms)).toEqual(secret);
  });

  it("a record sealed by AWS KMS does not go to the local provider and vice versa", async () => {
    fakeKms();
    const sealed = await seal(secret, context, provider());
    const local = tempLocalKms();
    expect((await sealError(unseal(sealed, context, local))).code).toBe("provider-mismatch");
  });
});
