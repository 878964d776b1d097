import { randomUUID } from "node:crypto";
import { eq, like, sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import { getDb } from "@/db/client";
import { blobLedger, files } from "@/db/schema";
import { recordingEvents } from "@/server/test/events";
import { expectAppError, expectTRPCError } from "@/server/test/expect";
import {
  callerFor,
  createContainer,
  createOrg,
  listBlobKeys,
  tempBlobStore,
  uploadFile,
} from "@/server/test/factories";
import { deleteFile, FILE_NAME_MAX, fileNameProblem, listFiles, readFile, writeFile, type WriteFileParams } from ".";

const db = () => getDb();
const bytes = (text: string) => new TextEncoder().encode(text);

async function setup() {
  const org = await createOrg();
  const container = await createContainer(org.id);
  const { store, root } = tempBlobStore();
  const write = (overrides: Partial<WriteFileParams> = {}) =>
    writeFile(
      db(),
      { blobs: store, events: recordingEvents() },
      {
        containerId: container.id,
        name: "notes.txt",
        contentType: "text/plain",
        body: bytes("hello"),
        origin: "upload",
        createdBy: org.owner.id,
        maxBytes: 1024,
        ...overrides,
      },
    );
  const rows = () => db().select().from(files).where(eq(files.containerId, container.id));
  return { org, container, store, root, write, rows };
}

/** A file a connector source created: it has a sourceId and is managed by that source. */
async function insertConnectorFile(containerId: string, name: string) {
  const [file] = await db()
    .insert(files)
    .values({
      containerId,
      name,
      origin: "connector",
      sourceId: randomUUID(),
      status: "processing",
      contentType: "text/plain",
      size: 3,
      blobKey: `containers/${containerId}/${randomUUID()}`,
    })
    .returning();
  return file!;
}

describe("writing files", () => {
  it("stores the copy and records the file", async () => {
    const { write, store, root, rows, container, org } = await setup();
    const file = await write({
      name: "docs/readme.md",
      contentType: "Text/Markdown; charset=utf-8",
      body: bytes("# Title"),
    });
    expect(file).toMatchObject({
      containerId: container.id,
      name: "docs/readme.md",
      contentType: "text/markdown",
      size: 7,
      origin: "upload",
      status: "processing",
      sourceId: null,
      createdBy: org.owner.id,
    });
    expect(await rows()).toEqual([file]);
    expect(listBlobKeys(root)).toEqual([file.blobKey]);
    expect((await store.get(file.blobKey!)).toString()).toBe("# Title");
    const read = await readFile(db(), store, { containerId: container.id, name: "docs/readme.md" });
    expect(read.file.id).toBe(file.id);
    expect(read.copy.size).toBe(7);
    expect(Buffer.concat(await read.copy.stream.toArray()).toString()).toBe("# Title");
  });

  it("falls back to application/octet-stream without a content type", async () => {
    const { write } = await setup();
    expect((await write({ contentType: "" })).contentType).toBe("application/octet-stream");
  });

  it("replaces the content of a file written again under the same name, in place", async () => {
    const { write, store, root, rows } = await setup();
    const first = await write({ body: bytes("version one") });
    const second = await write({ body: bytes("v2"), origin: "agent", contentType: "text/csv" });

    expect(second.id).toBe(first.id);
    expect(second.blobKey).not.toBe(first.blobKey);
    expect(second).toMatchObject({ size: 2, origin: "agent", contentType: "text/csv" });
    expect(await store.exists(first.blobKey!)).toBe(false);
    expect((await store.get(second.blobKey!)).toString()).toBe("v2");
    expect(listBlobKeys(root)).toEqual([second.blobKey]);
    expect(await rows()).toHaveLength(1);
  });

  it("leaves one row and one stored copy when first writes of a name overlap", async () => {
    const { container, store, root, rows } = await setup();
    const params = (text: string): WriteFileParams => ({
      containerId: container.id,
      name: "same.txt",
      contentType: "text/plain",
      body: bytes(text),
      origin: "agent",
      createdBy: null,
      maxBytes: 1024,
    });
    // The first writer's transaction is still open when the second writer of the same new name arrives.
    let second: Promise<unknown> | undefined;
    await db().transaction(async (tx) => {
      await writeFile(tx, { blobs: store, events: recordingEvents() }, params("first"));
      second = writeFile(db(), { blobs: store, events: recordingEvents() }, params("second"));
      // Commit only once the second writer is blocked by this transaction.
      const [{ pid }] = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as [{ pid: number }];
      await vi.waitFor(async () => {
        const [{ n }] = (await db().execute(
          sql`select count(*)::int as n from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))`,
        )) as unknown as [{ n: number }];
        expect(n).toBe(1);
      });
    });
    await second;
    const [row, ...others] = await rows();
    expect(others).toEqual([]);
    expect(listBlobKeys(root)).toEqual([row!.blobKey]);
    expect((await store.get(row!.blobKey!)).toString()).toBe("second");
  });

  it("leaves one row and one stored copy after many simultaneous writes of a name", async () => {
    const { write, store, root, rows } = await setup();
    await Promise.all(Array.from({ length: 8 }, (_, i) => write({ name: "busy.txt", body: bytes(`v${i}`) })));
    const [row, ...others] = await rows();
    expect(others).toEqual([]);
    expect(listBlobKeys(root)).toEqual([row!.blobKey]);
    expect((await store.get(row!.blobKey!)).toString()).toMatch(/^v\d$/);
  });

  it("keeps files of the same name in different containers apart", async () => {
    const { write, store, org } = await setup();
    const other = await createContainer(org.id);
    const here = await write({ body: bytes("here") });
    const there = await write({ containerId: other.id, body: bytes("there") });
    expect(there.id).not.toBe(here.id);
    expect((await store.get(here.blobKey!)).toString()).toBe("here");
  });

  it.each([
    ["empty", ""],
    ["blank", "   "],
    ["parent folder", "../x"],
    ["parent folder inside", "a/../x"],
    ["dot folder", "./x"],
    ["absolute", "/a"],
    ["trailing slash", "a/"],
    ["empty folder", "a//b"],
    ["NUL", "a\u0000b"],
    ["newline", "a\nb"],
    ["DEL", "a\u007fb"],
    ["too long", "x".repeat(FILE_NAME_MAX + 1)],
  ])("rejects a bad name (%s) with BAD_REQUEST and stores nothing", async (_label, name) => {
    const { write, root, rows } = await setup();
    const error = await expectAppError(write({ name }), "BAD_REQUEST");
    expect(error.field).toBe("name");
    expect(await rows()).toEqual([]);
    expect(listBlobKeys(root)).toEqual([]);
  });

  it("accepts names with folders, dots and the longest allowed length", () => {
    for (const name of [
      "a/b/c.txt",
      ".env",
      "a..b",
      "my file (1).pdf",
      "x".repeat(FILE_NAME_MAX),
      "ünïcödé/名前.txt",
    ]) {
      expect(fileNameProblem(name), name).toBeNull();
    }
  });

  it("rejects a body over the limit with PAYLOAD_TOO_LARGE and stores nothing", async () => {
    const { write, root, rows } = await setup();
    const error = await expectAppError(write({ body: new Uint8Array(1025), maxBytes: 1024 }), "PAYLOAD_TOO_LARGE");
    expect(error.field).toBe("file");
    expect(await rows()).toEqual([]);
    expect(listBlobKeys(root)).toEqual([]);
    // Exactly at the limit is fine.
    await expect(write({ body: new Uint8Array(1024), maxBytes: 1024 })).resolves.toMatchObject({ size: 1024 });
  });

  it("does not touch a connector file of the same name, and reads the written one by name", async () => {
    const { write, store, rows, container } = await setup();
    const connector = await insertConnectorFile(container.id, "notes.txt");
    const written = await write({ body: bytes("mine") });
    expect(written.id).not.toBe(connector.id);
    expect(await rows()).toHaveLength(2);
    const read = await readFile(db(), store, { containerId: container.id, name: "notes.txt" });
    expect(read.file.id).toBe(written.id);
    expect(Buffer.concat(await read.copy.stream.toArray()).toString()).toBe("mine");
  });
});

describe("listing files", () => {
  it("searches names case-insensitively, treating % and _ literally", async () => {
    const { container, store } = await setup();
    const names = ["Report_2024.txt", "reportX2024.txt", "100% done.md", "1000 done.md", "notes.md"];
    for (const name of names) await uploadFile(container.id, { name, blobs: store });
    const search = async (text: string) =>
      (await listFiles(db(), { containerId: container.id, search: text, page: 1, pageSize: 100 })).items
        .map((f) => f.name)
        .sort();

    expect(await search("REPORT")).toEqual(["Report_2024.txt", "reportX2024.txt"]);
    expect(await search("t_2")).toEqual(["Report_2024.txt"]);
    expect(await search("_")).toEqual(["Report_2024.txt"]);
    expect(await search("0%")).toEqual(["100% done.md"]);
    expect(await search("%")).toEqual(["100% done.md"]);
    expect(await search("\\")).toEqual([]);
    expect(await search("  notes  ")).toEqual(["notes.md"]);
    expect(await search("")).toHaveLength(names.length);
  });

  it("paginates with a total", async () => {
    const { container, store } = await setup();
    for (let i = 0; i < 12; i++) await uploadFile(container.id, { name: `file-${i}.txt`, blobs: store });
    const page1 = await listFiles(db(), { containerId: container.id, page: 1, pageSize: 10 });
    const page2 = await listFiles(db(), { containerId: container.id, page: 2, pageSize: 10 });
    const page3 = await listFiles(db(), { containerId: container.id, page: 3, pageSize: 10 });
    expect(page1).toMatchObject({ total: 12, page: 1, pageSize: 10 });
    expect(page1.items).toHaveLength(10);
    expect(page2).toMatchObject({ total: 12, page: 2, pageSize: 10 });
    expect(page2.items).toHaveLength(2);
    expect(page3.items).toEqual([]);
    const all = [...page1.items, ...page2.items];
    expect(new Set(all.map((f) => f.name)).size).toBe(12);
    // Newest first, ties broken by id, stable across pages.
    const newestFirst = [...all].sort(
      (a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || (a.id < b.id ? 1 : -1),
    );
    expect(all.map((f) => f.id)).toEqual(newestFirst.map((f) => f.id));

    const filtered = await listFiles(db(), { containerId: container.id, search: "file-1", page: 1, pageSize: 10 });
    expect(filtered.total).toBe(3); // file-1, file-10, file-11
  });

  it("sorts by name, size, origin and date, both ways", async () => {
    const { container, store } = await setup();
    await uploadFile(container.id, { name: "b.txt", blobs: store, body: "12345" });
    await uploadFile(container.id, { name: "a.txt", blobs: store, body: "1" });
    await uploadFile(container.id, { name: "c.txt", blobs: store, body: "123" });
    const names = async (by: "name" | "size" | "origin" | "updated", dir: "asc" | "desc") =>
      (await listFiles(db(), { containerId: container.id, page: 1, pageSize: 10, sort: { by, dir } })).items.map(
        (f) => f.name,
      );
    expect(await names("name", "asc")).toEqual(["a.txt", "b.txt", "c.txt"]);
    expect(await names("name", "desc")).toEqual(["c.txt", "b.txt", "a.txt"]);
    expect(await names("size", "asc")).toEqual(["a.txt", "c.txt", "b.txt"]);
    expect(await names("size", "desc")).toEqual(["b.txt", "c.txt", "a.txt"]);
    expect(await names("updated", "asc")).toEqual(["b.txt", "a.txt", "c.txt"]);
    expect(await names("origin", "asc")).toHaveLength(3);
  });

  it("lists through the API with defaults", async () => {
    const { container, org, store } = await setup();
    await uploadFile(container.id, { name: "a.txt", blobs: store });
    const result = await callerFor(org.owner).files.list({ containerId: container.id });
    expect(result).toMatchObject({ total: 1, page: 1, pageSize: 25 });
    await expectTRPCError(
      callerFor(org.owner).files.list({ containerId: container.id, pageSize: 7 as 10 }),
      "BAD_REQUEST",
    );
  });
});

describe("deleting files", () => {
  it("removes the row and the stored copy", async () => {
    const { write, store, root, rows, container } = await setup();
    const file = await write();
    await deleteFile(db(), store, { containerId: container.id, fileId: file.id });
    expect(await rows()).toEqual([]);
    expect(listBlobKeys(root)).toEqual([]);
    await expectAppError(deleteFile(db(), store, { containerId: container.id, fileId: file.id }), "NOT_FOUND");
  });

  it("refuses to delete a connector file (BAD_REQUEST) and keeps it", async () => {
    const { store, rows, container, org } = await setup();
    const connector = await insertConnectorFile(container.id, "synced.csv");
    await expectAppError(deleteFile(db(), store, { containerId: container.id, fileId: connector.id }), "BAD_REQUEST");
    await expectTRPCError(
      callerFor(org.owner, { blobs: store }).files.delete({ containerId: container.id, fileId: connector.id }),
      "BAD_REQUEST",
    );
    expect(await rows()).toEqual([connector]);
  });

  it("answers NOT_FOUND for a file of another container, and keeps that file", async () => {
    const { write, store, root, org } = await setup();
    const file = await write();
    const other = await createContainer(org.id);
    await expectAppError(deleteFile(db(), store, { containerId: other.id, fileId: file.id }), "NOT_FOUND");
    await expectTRPCError(
      callerFor(org.owner, { blobs: store }).files.delete({ containerId: other.id, fileId: file.id }),
      "NOT_FOUND",
    );
    expect(await db().select({ id: files.id }).from(files).where(eq(files.id, file.id))).toEqual([{ id: file.id }]);
    expect(listBlobKeys(root)).toEqual([file.blobKey]);
  });

  it("records wire/file.stored for processing with the write, and leaves no stored copy behind when the write fails", async () => {
    const org = await createOrg();
    const container = await createContainer(org.id);
    const { store, root } = tempBlobStore();
    const events = recordingEvents();
    const params = {
      containerId: container.id,
      name: "queued.txt",
      contentType: "text/plain",
      body: new TextEncoder().encode("x"),
      origin: "upload" as const,
      createdBy: null,
      maxBytes: 100,
    };
    const file = await writeFile(db(), { blobs: store, events }, params);
    expect(events.sent).toEqual([{ name: "wire/file.stored", data: { fileId: file.id, containerId: container.id } }]);
    // The event cannot be recorded (the transaction fails): no file, no copy, nothing for the ledger to find.
    const failing = { ...events, record: async () => Promise.reject(new Error("database down")) };
    await expect(
      writeFile(db(), { blobs: store, events: failing }, { ...params, name: "not-saved.txt" }),
    ).rejects.toThrow("database down");
    expect(listBlobKeys(root)).toEqual([file.blobKey]);
    expect(
      await db()
        .select()
        .from(blobLedger)
        .where(like(blobLedger.key, `containers/${container.id}/%`)),
    ).toEqual([]);
  });
});
