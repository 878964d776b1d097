import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { listBlobKeys, tempBlobStore } from "@/server/test/factories";
import { SpooledFile, StreamedBody } from "./spooled";

describe("LocalBlobStore", () => {
  it("keeps stored copies private to the app's user: files 0600, folders 0700, from memory or spooled", async () => {
    const { store, root } = tempBlobStore();
    await store.put("containers/c2/b1", new TextEncoder().encode("hello"));
    const spooledPath = path.join(root, "..", `spooled-${Date.now()}`);
    fs.writeFileSync(spooledPath, "spooled body", { mode: 0o644 });
    await store.put("containers/c2/b2", new SpooledFile(spooledPath, 12));
    fs.rmSync(spooledPath);
    expect((await store.get("containers/c2/b2")).toString()).toBe("spooled body");
    const mode = (p: string) => fs.statSync(path.join(root, p)).mode & 0o777;
    expect([mode("containers/c2/b1"), mode("containers/c2/b2")]).toEqual([0o600, 0o600]);
    expect([mode("containers"), mode("containers/c2")]).toEqual([0o700, 0o700]);
  });

  it("never writes over a stored copy, and a failed write leaves none behind", async () => {
    const { store, root } = tempBlobStore();
    await store.put("containers/c4/b1", new TextEncoder().encode("first"));
    await expect(store.put("containers/c4/b1", new TextEncoder().encode("second"))).rejects.toMatchObject({
      code: "EEXIST",
    });
    expect((await store.get("containers/c4/b1")).toString()).toBe("first");
    const missing = new SpooledFile(path.join(root, "..", `gone-${Date.now()}`), 5);
    await expect(store.put("containers/c4/b2", missing)).rejects.toMatchObject({ code: "ENOENT" });
    expect(listBlobKeys(root)).toEqual(["containers/c4/b1"]);
  });

  it("stores a streamed body as it arrives; one that breaks off leaves no copy behind", async () => {
    const { store, root } = tempBlobStore();
    const parts = ["first part, ", "second part"];
    await store.put("containers/c5/b1", new StreamedBody(Readable.from(parts.map((p) => Buffer.from(p))), 23));
    expect((await store.get("containers/c5/b1")).toString()).toBe("first part, second part");
    expect(fs.statSync(path.join(root, "containers/c5/b1")).mode & 0o777).toBe(0o600);

    const breaksOff = new Readable({ read() {} });
    breaksOff.push("half of it");
    setImmediate(() => breaksOff.destroy(new Error("socket hang up")));
    await expect(store.put("containers/c5/b2", new StreamedBody(breaksOff, 20))).rejects.toThrow("socket hang up");
    expect(listBlobKeys(root)).toEqual(["containers/c5/b1"]);
  });

  it("reads only the first bytes asked for, or opens a stream; a missing copy reads as ENOENT", async () => {
    const { store } = tempBlobStore();
    await store.put("containers/c6/b1", new TextEncoder().encode("0123456789"));
    expect((await store.get("containers/c6/b1", { firstBytes: 4 })).toString()).toBe("0123");
    expect((await store.get("containers/c6/b1", { firstBytes: 50 })).toString()).toBe("0123456789");
    expect((await store.get("containers/c6/b1", { firstBytes: 0 })).length).toBe(0);
    const opened = await store.open("containers/c6/b1");
    expect([opened.size, Buffer.concat(await opened.stream.toArray()).toString()]).toEqual([10, "0123456789"]);
    await expect(store.open("containers/c6/none")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(store.get("containers/c6/none", { firstBytes: 0 })).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("puts into a folder another process removed meanwhile (a container's copies deleted by prefix)", async () => {
    const { store, root } = tempBlobStore();
    await store.put("containers/c3/b1", new TextEncoder().encode("first"));
    fs.rmSync(path.join(root, "containers/c3"), { recursive: true });
    await store.put("containers/c3/b2", new TextEncoder().encode("second"));
    expect((await store.get("containers/c3/b2")).toString()).toBe("second");
    expect(fs.statSync(path.join(root, "containers/c3")).mode & 0o777).toBe(0o700);
    await store.deletePrefix("containers/c3/");
    await store.put("containers/c3/b3", new TextEncoder().encode("third"));
    expect(listBlobKeys(root)).toEqual(["containers/c3/b3"]);
  });

  it("stores, reads, checks and deletes blobs; deleting twice is fine", async () => {
    const { store, root } = tempBlobStore();
    await store.put("containers/c1/b1", new TextEncoder().encode("hello"));
    expect((await store.get("containers/c1/b1")).toString()).toBe("hello");
    expect(await store.exists("containers/c1/b1")).toBe(true);
    expect(listBlobKeys(root)).toEqual(["containers/c1/b1"]); // no temp files left behind
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
