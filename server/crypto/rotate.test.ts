import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type Database } from "@/db/client";
import { connectors } from "@/db/schema";
import { createIsolatedDatabase } from "@/server/test/databases";
import { seal, unseal, type SealedSecret } from "./envelope";
import { LocalKmsProvider, type KmsProvider } from "./kms";
import { rotateKeys } from "./rotate";
import { readKeyFile, seedConnector, tempLocalKms } from "./test-helpers";

// rotateKeys() walks every connector, so it gets a database of its own: other test files' rows are sealed
// under other key files.
let isolated: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let handle: ReturnType<typeof createDatabase>;
let db: Database;

beforeAll(async () => {
  isolated = await createIsolatedDatabase("crypto_rotate");
  handle = createDatabase(isolated.url, { max: 4 });
  db = handle.db;
});

afterAll(async () => {
  await handle?.sql.end({ timeout: 5 });
  await isolated?.drop();
});

async function clearConnectors() {
  await db.delete(connectors);
}

async function sealedConnector(kms: KmsProvider, fields: Record<string, string>) {
  const connector = await seedConnector(db);
  const context = { connectorId: connector.id, orgId: connector.orgId };
  const sealed = await seal(fields, context, kms);
  await db.update(connectors).set({ sealedCredentials: sealed }).where(eq(connectors.id, connector.id));
  return { ...connector, context, sealed, fields };
}

async function storedSecret(id: string): Promise<SealedSecret | null> {
  const [row] = await db.select({ sealed: connectors.sealedCredentials }).from(connectors).where(eq(connectors.id, id));
  return (row?.sealed ?? null) as SealedSecret | null;
}

describe("rotateKeys", () => {
  it("adds a KEK, re-wraps every sealed connector under it, and old values still open", async () => {
    await clearConnectors();
    const kms = tempLocalKms();
    const a = await sealedConnector(kms, { accessKeyId: "A", secretAccessKey: "secret-a" });
    const b = await sealedConnector(kms, { accessKeyId: "B", secretAccessKey: "secret-b" });
    const disconnected = await seedConnector(db); // sealedCredentials null: left alone
    const k1 = a.sealed.kekId;
    expect(b.sealed.kekId).toBe(k1);

    const result = await rotateKeys(db, kms);
    expect(result).toEqual({ rewrapped: 2, kekId: expect.stringMatching(/^k2-/) as string, failed: [] });
    const keyFile = readKeyFile(kms);
    expect(keyFile.current).toBe(result.kekId);
    expect(Object.keys(keyFile.keys)).toEqual([k1, result.kekId]);

    for (const c of [a, b]) {
      const now = (await storedSecret(c.id))!;
      expect(now.kekId).toBe(result.kekId);
      expect(now.ciphertext).toBe(c.sealed.ciphertext);
      expect(await unseal(now, c.context, kms)).toEqual(c.fields);
      // A copy sealed under k1 (a backup, a row not yet re-wrapped) still opens: old keys are kept.
      expect(await unseal(c.sealed, c.context, kms)).toEqual(c.fields);
    }
    expect(await storedSecret(disconnected.id)).toBeNull();

    // New seals use the new key; a second rotation moves everything again.
    const c = await sealedConnector(kms, { accessKeyId: "C", secretAccessKey: "secret-c" });
    expect(c.sealed.kekId).toBe(result.kekId);
    const again = await rotateKeys(db, kms);
    expect(again.rewrapped).toBe(3);
    expect((await storedSecret(c.id))!.kekId).toBe(again.kekId);
    expect(await unseal((await storedSecret(a.id))!, a.context, kms)).toEqual(a.fields);
  });

  it("walks more rows than one batch", async () => {
    await clearConnectors();
    const kms = tempLocalKms();
    const rows = await Promise.all(Array.from({ length: 230 }, (_, i) => sealedConnector(kms, { n: String(i) })));
    const result = await rotateKeys(db, kms);
    expect(result.rewrapped).toBe(230);
    const stored = await db.select({ id: connectors.id, sealed: connectors.sealedCredentials }).from(connectors);
    expect(new Set(stored.map((r) => (r.sealed as SealedSecret).kekId))).toEqual(new Set([result.kekId]));
    expect(await unseal((await storedSecret(rows[229]!.id))!, rows[229]!.context, kms)).toEqual({ n: "229" });
  });

  it("reports rows that do not open and carries on", async () => {
    await clearConnectors();
    const kms = tempLocalKms();
    const good = await sealedConnector(kms, { k: "good" });
    const moved = await sealedConnector(kms, { k: "moved" });
    // Another record's sealed value copied onto this row: its context does not match.
    await db.update(connectors).set({ sealedCredentials: good.sealed }).where(eq(connectors.id, moved.id));
    const junk = await seedConnector(db);
    await db
      .update(connectors)
      .set({ sealedCredentials: { hello: "world" } })
      .where(eq(connectors.id, junk.id));

    const result = await rotateKeys(db, kms);
    expect(result.rewrapped).toBe(1);
    expect(result.failed).toEqual(
      expect.arrayContaining([
        { connectorId: moved.id, error: "Sealed credentials were tampered with or do not belong to this record" },
        { connectorId: junk.id, error: expect.stringMatching(/^Sealed credentials are malformed/) as string },
      ]),
    );
    expect(result.failed).toHaveLength(2);
    expect((await storedSecret(good.id))!.kekId).toBe(result.kekId);
    expect(await storedSecret(moved.id)).toEqual(good.sealed); // untouched
  });

  it("never overwrites credentials replaced or disconnected during the rotation", async () => {
    await clearConnectors();
    const inner = tempLocalKms();
    const replaced = await sealedConnector(inner, { k: "old" });
    const gone = await sealedConnector(inner, { k: "gone" });
    await inner.rotate();

    // A provider that, the first time it wraps for each row, lets a "concurrent request" change that row.
    const touched = new Set<string>();
    const racing: KmsProvider = {
      name: "local",
      currentKekId: () => inner.currentKekId(),
      unwrapKey: (kekId, wrapped, context) => inner.unwrapKey(kekId, wrapped, context),
      async wrapKey(dataKey, context) {
        const id = context.connectorId!;
        if (!touched.has(id)) {
          touched.add(id);
          const value = id === replaced.id ? await seal({ k: "new" }, context, inner) : null;
          await db.update(connectors).set({ sealedCredentials: value }).where(eq(connectors.id, id));
        }
        return inner.wrapKey(dataKey, context);
      },
    };
    const result = await rotateKeys(db, racing);
    expect(result).toEqual({ rewrapped: 1, kekId: await inner.currentKekId(), failed: [] });
    const now = (await storedSecret(replaced.id))!;
    expect(await unseal(now, replaced.context, inner)).toEqual({ k: "new" });
    expect(now.kekId).toBe(await inner.currentKekId());
    expect(await storedSecret(gone.id)).toBeNull();
  });

  it("npm run keys:rotate rotates and prints the count", async () => {
    await clearConnectors();
    const kms = tempLocalKms();
    const a = await sealedConnector(kms, { accessKeyId: "cli", secretAccessKey: "cli-secret" });
    const root = path.resolve(import.meta.dirname, "../..");
    const { stdout } = await promisify(execFile)("npm", ["run", "--silent", "keys:rotate"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: isolated.url, WIRE_KEK_FILE: kms.file },
    });
    const current = readKeyFile(kms).current;
    expect(stdout).toContain(`Key-encryption key is now ${current} (local).`);
    expect(stdout).toContain("Re-wrapped 1 connector credential.");
    const now = (await storedSecret(a.id))!;
    expect(now.kekId).toBe(current);
    expect(await unseal(now, a.context, new LocalKmsProvider(kms.file))).toEqual(a.fields);
  }, 60_000);
});
