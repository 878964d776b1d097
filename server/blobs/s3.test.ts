/** The S3 blob store against a real S3 server (s3rver), with the same contract as the local store. */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { s3AdminClient } from "@/server/test/s3-admin";
import { testS3 } from "@/server/test/factories";
import { withPeakRssGrowth } from "@/server/test/memory";
import { boundHeapGrowth } from "@/server/heap-growth";
import { S3BlobStore } from "./s3";
import { StreamedBody } from "./spooled";

// As the app's process does (instrumentation.ts), so the RSS figures below are the app's.
boundHeapGrowth();

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

  it("stores a streamed body of known length; reads only the first bytes asked for", async () => {
    const body = Buffer.from("x".repeat(200_000) + "the end");
    await store.put(
      "containers/c2/s",
      new StreamedBody(Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]), body.length),
    );
    expect((await store.get("containers/c2/s")).equals(body)).toBe(true);
    const opened = await store.open("containers/c2/s");
    expect(opened.size).toBe(body.length);
    expect(Buffer.concat(await opened.stream.toArray()).equals(body)).toBe(true);
    await expect(store.open("containers/c2/none")).rejects.toMatchObject({ code: "ENOENT" });
    expect((await store.get("containers/c2/s", { firstBytes: 5 })).toString()).toBe("xxxxx");
    expect((await store.get("containers/c2/s", { firstBytes: 300_000 })).equals(body)).toBe(true);
    await store.put("containers/c2/empty", new Uint8Array());
    expect((await store.get("containers/c2/empty", { firstBytes: 0 })).length).toBe(0);
    await expect(store.get("containers/c2/none", { firstBytes: 0 })).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("streams a 200 MB copy in and out with memory flat", async () => {
    const mb = 200;
    const written = createHash("sha256");
    // Fresh chunks, made as they are read: a store that held the body would hold all 200 MB of them.
    function* chunks() {
      for (let i = 0; i < mb; i++) {
        const chunk = Buffer.alloc(1024 * 1024, `chunk ${i} `);
        written.update(chunk);
        yield chunk;
      }
    }
    const { growthMb } = await withPeakRssGrowth(async () => {
      await store.put("containers/c3/large", new StreamedBody(Readable.from(chunks()), mb * 1024 * 1024));
      const opened = await store.open("containers/c3/large");
      expect(opened.size).toBe(mb * 1024 * 1024);
      const read = createHash("sha256");
      for await (const chunk of opened.stream) read.update(chunk as Buffer);
      expect(read.digest("hex")).toBe(written.digest("hex"));
    });
    console.log(`S3 blob store, a ${mb} MB copy streamed in and read back: RSS grew ${growthMb.toFixed(1)} MB`);
    expect(growthMb).toBeLessThan(64);
  }, 120_000);

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
