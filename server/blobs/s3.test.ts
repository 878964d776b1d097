/** The S3 blob store against a real S3 server (s3rver), with the same contract as the local store. */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { s3AdminClient } from "@/server/test/s3-admin";
import { testS3 } from "@/server/test/factories";
import { S3BlobStore } from "./s3";

const bucket = `blobs-${randomUUID().slice(0, 8)}`;
let store: S3BlobStore;

beforeAll(async () => {
  const s3 = testS3();
  const admin = s3AdminClient(s3.endpoint);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  store = new S3BlobStore({
    bucket,
    prefix: "wire/",
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
});

describe("S3BlobStore", () => {
  it("puts, gets, checks and deletes; deleting twice is fine; a missing copy reads as ENOENT", async () => {
    await store.put("containers/c1/a", new TextEncoder().encode("hello"));
    expect((await store.get("containers/c1/a")).toString()).toBe("hello");
    expect(await store.exists("containers/c1/a")).toBe(true);
    await store.delete("containers/c1/a");
    await store.delete("containers/c1/a");
    expect(await store.exists("containers/c1/a")).toBe(false);
    await expect(store.get("containers/c1/a")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("deletes a container's prefix and nothing else", async () => {
    for (const key of ["containers/gone/1", "containers/gone/2", "containers/gone-not/3", "containers/kept/4"]) {
      await store.put(key, new TextEncoder().encode(key));
    }
    await store.deletePrefix("containers/gone/");
    expect(
      await Promise.all(
        ["containers/gone/1", "containers/gone/2", "containers/gone-not/3", "containers/kept/4"].map((k) =>
          store.exists(k),
        ),
      ),
    ).toEqual([false, false, true, true]);
  });

  it("refuses unsafe keys before any request", async () => {
    await expect(store.put("../escape", new Uint8Array([1]))).rejects.toThrow(/Invalid blob key/);
    await expect(store.deletePrefix("containers/x")).rejects.toThrow(/Invalid blob prefix/);
  });
});
