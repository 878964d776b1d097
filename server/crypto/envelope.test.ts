import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getDb } from "@/db/client";
import { connectors } from "@/db/schema";
import { TAMPERED_MESSAGE } from "./errors";
import { parseSealedSecret, rewrap, seal, SealError, unseal, type SealedSecret } from "./envelope";
import { readKeyFile, seedConnector, tempLocalKms } from "./test-helpers";

const secret = { accessKeyId: "AKIAEXAMPLE123", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const context = { connectorId: "8a4f7e84-41b5-4a43-9a7e-7e0c1f0e2a11", orgId: "0b1c3f4e-7d0a-4c55-8f1e-2f5c9a6b1d22" };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`Expected the call to fail, but it returned ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** The promise rejects with a SealError of `code` whose message never contains the secret. */
async function expectSealError(promise: Promise<unknown>, code: SealError["code"]): Promise<SealError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(SealError);
  const sealError = error as SealError;
  expect(sealError.code, sealError.message).toBe(code);
  for (const value of Object.values(secret)) expect(sealError.message).not.toContain(value);
  return sealError;
}

/** Flips one bit in the middle of a base64 field: same length, different bytes. */
function flipBit(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  return bytes.toString("base64");
}

describe("seal / unseal", () => {
  it("round-trips and produces a JSON-serializable record without the plaintext", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    expect(sealed).toMatchObject({ v: 1, kms: "local", kekId: readKeyFile(kms).current });
    const stored = JSON.parse(JSON.stringify(sealed)) as SealedSecret;
    expect(await unseal(stored, context, kms)).toEqual(secret);
    const text = JSON.stringify(sealed);
    for (const value of Object.values(secret)) expect(text).not.toContain(value);
    // Context key order does not matter.
    expect(await unseal(stored, { orgId: context.orgId, connectorId: context.connectorId }, kms)).toEqual(secret);
  });

  it("uses a fresh data key and IV for every seal", async () => {
    const kms = tempLocalKms();
    const a = await seal(secret, context, kms);
    const b = await seal(secret, context, kms);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it("round-trips empty and unicode fields", async () => {
    const kms = tempLocalKms();
    const fields = { a: "", b: "päss—wörd ✓", "key with spaces": "x".repeat(5000) };
    expect(await unseal(await seal(fields, context, kms), context, kms)).toEqual(fields);
  });

  it("refuses to open with any other context", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    const wrongContexts: Record<string, string>[] = [
      { ...context, connectorId: "11111111-1111-4111-8111-111111111111" },
      { ...context, orgId: "22222222-2222-4222-8222-222222222222" },
      { connectorId: context.connectorId },
      { orgId: context.orgId },
      { ...context, extra: "x" },
      { connectorId: context.orgId, orgId: context.connectorId },
    ];
    for (const wrong of wrongContexts) {
      const error = await expectSealError(unseal(sealed, wrong, kms), "tampered");
      expect(error.message).toBe(TAMPERED_MESSAGE);
      await expectSealError(rewrap(sealed, wrong, kms), "tampered");
    }
    await expectSealError(unseal(sealed, {}, kms), "malformed");
  });

  it.each(["ciphertext", "tag", "iv", "wrappedKey"] as const)("detects a tampered %s", async (field) => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    const tampered = { ...sealed, [field]: flipBit(sealed[field]) };
    const error = await expectSealError(unseal(tampered, context, kms), "tampered");
    expect(error.message).toBe("Sealed credentials were tampered with or do not belong to this record");
  });

  it("detects a truncated or extended field", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    const shorter = (s: string) => Buffer.from(s, "base64").subarray(1).toString("base64");
    const longer = (s: string) => Buffer.concat([Buffer.from(s, "base64"), Buffer.from([0])]).toString("base64");
    await expectSealError(unseal({ ...sealed, ciphertext: shorter(sealed.ciphertext) }, context, kms), "tampered");
    await expectSealError(unseal({ ...sealed, ciphertext: longer(sealed.ciphertext) }, context, kms), "tampered");
    await expectSealError(unseal({ ...sealed, wrappedKey: shorter(sealed.wrappedKey) }, context, kms), "tampered");
    await expectSealError(unseal({ ...sealed, iv: shorter(sealed.iv) }, context, kms), "malformed");
    await expectSealError(unseal({ ...sealed, tag: longer(sealed.tag) }, context, kms), "malformed");
  });

  it("names an unknown key-encryption key", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    const error = await expectSealError(unseal({ ...sealed, kekId: "k9-deadbeef" }, context, kms), "unknown-key");
    expect(error.message).toMatch(/^Unknown key-encryption key "k9-deadbeef": /);
    expect(error.message).toContain(kms.file);
    // A prototype property name is not a key either.
    await expectSealError(unseal({ ...sealed, kekId: "constructor" }, context, kms), "unknown-key");
  });

  it("detects a kekId swapped for another existing key", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    await kms.rotate();
    const other = readKeyFile(kms).current;
    expect(other).not.toBe(sealed.kekId);
    await expectSealError(unseal({ ...sealed, kekId: other }, context, kms), "tampered");
  });

  it("refuses malformed records, another provider's records and non-string plaintext", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    for (const bad of [
      null,
      "x",
      {},
      { ...sealed, v: 2 },
      { ...sealed, iv: "not base64!" },
      { ...sealed, kekId: "" },
    ]) {
      const error = await expectSealError(unseal(bad as SealedSecret, context, kms), "malformed");
      expect(error.message).toMatch(/^Sealed credentials are malformed/);
    }
    expect(() => parseSealedSecret({ ...sealed, ciphertext: 5 })).toThrow(/malformed \(ciphertext\)/);
    const error = await expectSealError(unseal({ ...sealed, kms: "aws-kms" }, context, kms), "provider-mismatch");
    expect(error.message).toContain("configured for local");
    await expectSealError(seal({ a: 1 } as unknown as Record<string, string>, context, kms), "malformed");
    await expectSealError(seal(secret, { connectorId: 5 } as unknown as Record<string, string>, kms), "malformed");
  });

  it("rewrap keeps the ciphertext and moves the data key to the current KEK", async () => {
    const kms = tempLocalKms();
    const sealed = await seal(secret, context, kms);
    const next = await kms.rotate();
    const rewrapped = await rewrap(sealed, context, kms);
    expect(rewrapped).toMatchObject({ kekId: next, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext });
    expect(rewrapped.wrappedKey).not.toBe(sealed.wrappedKey);
    expect(await unseal(rewrapped, context, kms)).toEqual(secret);
    expect(await unseal(sealed, context, kms)).toEqual(secret);
  });
});

describe("the key-encryption key stays out of the database", () => {
  it("no column of the connector row contains the KEK after sealing", async () => {
    const db = getDb();
    const kms = tempLocalKms();
    const connector = await seedConnector(db);
    const ctx = { connectorId: connector.id, orgId: connector.orgId };
    await db
      .update(connectors)
      .set({ sealedCredentials: await seal(secret, ctx, kms) })
      .where(eq(connectors.id, connector.id));

    const [row] = await db.execute<{ row: string }>(
      sql`select row_to_json(c)::text as row from connectors c where c.id = ${connector.id}`,
    );
    const text = row!.row;
    expect(text).toContain('"kekId"');
    const keys = Object.values(readKeyFile(kms).keys).map((b64) => Buffer.from(b64, "base64"));
    expect(keys).toHaveLength(1);
    for (const key of keys) {
      for (const encoding of ["base64", "base64url", "hex"] as const)
        expect(text).not.toContain(key.toString(encoding));
      expect(text).not.toContain(key.toString("latin1"));
    }
    for (const value of Object.values(secret)) expect(text).not.toContain(value);

    // What drizzle reads back from jsonb opens with the row's own context, and only with it.
    const [stored] = await db.select().from(connectors).where(eq(connectors.id, connector.id));
    expect(await unseal(stored!.sealedCredentials as SealedSecret, ctx, kms)).toEqual(secret);
    const other = await seedConnector(db);
    await expectSealError(
      unseal(stored!.sealedCredentials as SealedSecret, { connectorId: other.id, orgId: other.orgId }, kms),
      "tampered",
    );
  });
});
