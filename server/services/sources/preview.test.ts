/** The Add bucket form's prefix preview, against the real test S3 server (s3rver). */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { onS3Request, type S3RequestRecord } from "@/server/s3/request-log";
import { createConnectorRow, createOrg, db, testS3 } from "@/server/test/factories";
import { s3AdminClient } from "@/server/test/s3-admin";
import { PREVIEW_COUNT_CAP, previewPrefix } from "./preview";

async function bucketWith(keys: string[]) {
  const admin = s3AdminClient(testS3().endpoint);
  const bucket = `preview-${randomUUID().slice(0, 8)}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys
        .slice(i, i + 50)
        .map((Key) =>
          admin.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Buffer.from(Key.endsWith("/") ? "" : "x") })),
        ),
    );
  }
  admin.destroy();
  return bucket;
}

describe("previewPrefix", () => {
  it("counts what a prefix holds and names what an open-ended prefix also matches, reading only under it", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    const bucket = await bucketWith([
      "reports/2026/",
      "reports/2026/a.txt",
      "reports/2026/b.txt",
      "reports/2026-old/c.txt",
      "reports/2026.csv",
      "reports/2025/d.txt",
      "other.txt",
    ]);
    const params = { orgId: org.id, userId: org.owner.id, connectorId: connector.id, bucket };
    const requests: S3RequestRecord[] = [];
    const stop = onS3Request((r) => r.bucket === bucket && requests.push(r));
    try {
      const open = await previewPrefix(db(), { ...params, prefix: "reports/2026" });
      expect(open).toEqual({
        objectCount: 4,
        capped: false,
        openEnded: { alsoMatches: ["reports/2026-old/", "reports/2026.csv"], more: false, folder: "reports/2026/" },
      });
      // The folder marker is not an object; a prefix ending in "/" is not flagged.
      expect(await previewPrefix(db(), { ...params, prefix: "reports/2026/" })).toEqual({
        objectCount: 2,
        capped: false,
        openEnded: null,
      });
      // Nothing there: zero, not an error (the form warns).
      expect(await previewPrefix(db(), { ...params, prefix: "nothing/" })).toEqual({
        objectCount: 0,
        capped: false,
        openEnded: null,
      });
      // Misspelled without a slash, and no such folder: flagged with no fix to offer.
      expect((await previewPrefix(db(), { ...params, prefix: "reprts" })).openEnded).toEqual({
        alsoMatches: [],
        more: false,
        folder: null,
      });
    } finally {
      stop();
    }
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r.operation).toBe("ListObjectsV2");
      expect(["reports/2026", "reports/2026/", "nothing/", "reprts"]).toContain(r.prefix);
    }
  });

  it("caps the count at one listing page", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    const bucket = await bucketWith(
      Array.from({ length: PREVIEW_COUNT_CAP + 5 }, (_, i) => `many/${String(i).padStart(5, "0")}.txt`),
    );
    const preview = await previewPrefix(db(), {
      orgId: org.id,
      userId: org.owner.id,
      connectorId: connector.id,
      bucket,
      prefix: "many/",
    });
    expect(preview).toMatchObject({ objectCount: PREVIEW_COUNT_CAP, capped: true });
  }, 120_000);

  it("reports a missing bucket on the bucket field", async () => {
    const org = await createOrg();
    const connector = await createConnectorRow(org.id);
    await expect(
      previewPrefix(db(), {
        orgId: org.id,
        userId: org.owner.id,
        connectorId: connector.id,
        bucket: "no-such-bucket-here",
        prefix: "",
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      field: "bucket",
    });
  });
});
