import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listBlobKeys, tempBlobStore } from "@/server/test/factories";

describe("LocalBlobStore", () => {
  it("stores, reads, checks and deletes blobs; deleting twice is fine", async () => {
    const { store, root } = tempBlobStore();
    await store.put("containers/c1/b1", new TextEncoder().encode("hello"));
    expect((await store.get("containers/c1/b1")).toString()).toBe("hello");
    expect(await store.exists("containers/c1/b1")).toBe(true);
    expect(listBlobKeys(root)).toEqual(["containers/c1/b1"]); // no temp files left behind
    await store.put("containers/c1/b1", new TextEncoder().encode("again"));
    expect((await store.get("containers/c1/b1")).toString()).toBe("again");
    await store.delete("containers/c1/b1");
    await store.delete("containers/c1/b1");
    expect(await store.exists("containers/c1/b1")).toBe(false);
    await expect(store.get("containers/c1/b1")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.each([
    "../escape",
    "a/../../escape",
    "a/..",
    "..",
    "/etc/passwd",
    "/tmp/x",
    "\\windows",
    "C:/x",
    "a\\..\\b",
    "",
    ".hidden",
    "a/b\u0000",
  ])("rejects the key %j for every operation", async (key) => {
    const { store, root } = tempBlobStore();
    await expect(store.put(key, new Uint8Array([1]))).rejects.toThrow(/Invalid blob key/);
    await expect(store.get(key)).rejects.toThrow(/Invalid blob key/);
    await expect(store.delete(key)).rejects.toThrow(/Invalid blob key/);
    await expect(store.exists(key)).rejects.toThrow(/Invalid blob key/);
    expect(listBlobKeys(root)).toEqual([]);
    expect(fs.existsSync(path.join(path.dirname(root), "escape"))).toBe(false);
  });
});
