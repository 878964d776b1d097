/** Test helpers for server/crypto: key files in fresh temporary directories, and seeded connector rows. */
import "server-only";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Database } from "@/db/client";
import { connectors, organizations } from "@/db/schema";
import { LocalKmsProvider } from "./kms";

/** A fresh directory under the test WIRE_DATA_DIR. */
export function tempDir(label = "crypto"): string {
  const base = process.env.WIRE_DATA_DIR;
  if (!base) throw new Error("WIRE_DATA_DIR is not set: is server/test/setup.ts configured as a setup file?");
  return fs.mkdtempSync(path.join(base, `${label}-`));
}

/** A local provider whose key file (not yet created) is <tmp>/data/secrets/kek.json. */
export function tempLocalKms(): LocalKmsProvider {
  return new LocalKmsProvider(path.join(tempDir("kek"), "data", "secrets", "kek.json"));
}

export function readKeyFile(kms: LocalKmsProvider): { current: string; keys: Record<string, string> } {
  return JSON.parse(fs.readFileSync(kms.file, "utf8")) as { current: string; keys: Record<string, string> };
}

/** An organization and a connector row, inserted directly. */
export async function seedConnector(db: Database): Promise<{ id: string; orgId: string }> {
  const suffix = randomUUID().slice(0, 8);
  const [org] = await db
    .insert(organizations)
    .values({ name: `Crypto ${suffix}`, slug: `crypto-${suffix}` })
    .returning();
  const [connector] = await db
    .insert(connectors)
    .values({
      orgId: org!.id,
      label: `Bucket ${suffix}`,
      provider: "minio",
      endpoint: "http://127.0.0.1:9000",
      region: "us-east-1",
      testBucket: "wire-test",
    })
    .returning();
  return { id: connector!.id, orgId: org!.id };
}
