import { asc, eq, inArray } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { embeddings, entries, files } from "@/db/schema";
import type { BlobStore } from "@/server/blobs";
import { createContainer, createOrg, db, tempBlobStore, uploadFile } from "@/server/test/factories";
import { EmbeddingError, LocalEmbedder, type Embedder } from "./embed";
import { deleteDerivedData, MAX_TEXT_CHARS, MISSING_COPY_ERROR, processFile } from "./pipeline";
import { makeDocx, makePdf, PNG_BYTES } from "./test-fixtures";

const local = new LocalEmbedder();
const { store: blobs } = tempBlobStore();
let containerId: string;

beforeAll(async () => {
  const org = await createOrg();
  containerId = (await createContainer(org.id)).id;
});

function upload(name: string, body: string | Uint8Array, contentType = "text/plain") {
  return uploadFile(containerId, { name, body, contentType, blobs });
}

async function entriesOf(fileId: string) {
  return db()
    .select({
      id: entries.id,
      ordinal: entries.ordinal,
      text: entries.text,
      model: embeddings.model,
      vector: embeddings.vector,
    })
    .from(entries)
    .leftJoin(embeddings, eq(embeddings.entryId, entries.id))
    .where(eq(entries.fileId, fileId))
    .orderBy(asc(entries.ordinal));
}

async function fileRow(fileId: string) {
  const [row] = await db().select().from(files).where(eq(files.id, fileId));
  return row;
}

/** An embedder that runs `hook` (once) before embedding, to simulate something happening mid-processing. */
function embedderWith(hook: () => Promise<void>, inner: Embedder = local): Embedder {
  let done = false;
  return {
    model: inner.model,
    dimensions: inner.dimensions,
    async embed(texts) {
      if (!done) {
        done = true;
        await hook();
      }
      return inner.embed(texts);
    },
  };
}

const paragraphs = (n: number, topic: string) =>
  Array.from(
    { length: n },
    (_, i) => `Paragraph ${i} about ${topic}. ${"It has enough words to need several entries. ".repeat(8)}`,
  ).join("\n\n");

describe("processFile", () => {
  it("writes entries with embeddings and marks the file ready", async () => {
    const file = await upload("notes/plan.md", `# Plan\n\n${paragraphs(10, "the roadmap")}`, "text/markdown");
    await db()
      .update(files)
      .set({ status: "processing", error: "old", updatedAt: new Date(0) })
      .where(eq(files.id, file.id));

    const result = await processFile(db(), blobs, local, file.id);
    const rows = await entriesOf(file.id);
    expect(result).toEqual({ status: "ready", entries: rows.length });
    expect(rows.length).toBeGreaterThan(1);
    expect(rows.map((r) => r.ordinal)).toEqual(rows.map((_, i) => i));
    expect(rows[0]!.text).toMatch(/^# Plan\n\nParagraph 0 about the roadmap\./);
    for (const row of rows) {
      expect(row.text.length).toBeLessThanOrEqual(1500);
      expect(row.model).toBe(local.model);
      expect(row.vector).toHaveLength(384);
      // real[] holds float4, read back as its shortest decimal: the stored vector is the computed one.
      expect(row.vector!.map((v) => Math.fround(v))).toEqual(local.embedOne(row.text));
    }
    const after = await fileRow(file.id);
    expect(after).toMatchObject({ status: "ready", error: null });
    expect(after!.updatedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("replaces a file's entries when processed again: no duplicates", async () => {
    const file = await upload("again.txt", paragraphs(6, "repetition"));
    const first = await processFile(db(), blobs, local, file.id);
    const firstRows = await entriesOf(file.id);
    const second = await processFile(db(), blobs, local, file.id);
    const secondRows = await entriesOf(file.id);
    expect(second).toEqual(first);
    expect(secondRows).toHaveLength(firstRows.length);
    expect(secondRows.map((r) => r.text)).toEqual(firstRows.map((r) => r.text));
    expect(new Set(secondRows.map((r) => r.id)).size).toBe(secondRows.length);
    expect(secondRows.some((r) => firstRows.some((f) => f.id === r.id))).toBe(false);
  });

  it("processes a new version of a file in place", async () => {
    const v1 = await upload("versioned.txt", "The first version talks about apples.");
    await processFile(db(), blobs, local, v1.id);
    const v2 = await upload("versioned.txt", "The second version talks about pears.");
    expect(v2.id).toBe(v1.id);
    await processFile(db(), blobs, local, v2.id);
    expect((await entriesOf(v1.id)).map((r) => r.text)).toEqual(["The second version talks about pears."]);
  });

  it("processes two runs of the same version at once without duplicates", async () => {
    const file = await upload("parallel.txt", paragraphs(5, "concurrency"));
    const results = await Promise.all([1, 2, 3].map(() => processFile(db(), blobs, local, file.id)));
    const rows = await entriesOf(file.id);
    for (const result of results) expect(result).toEqual({ status: "ready", entries: rows.length });
    expect(new Set(rows.map((r) => r.ordinal)).size).toBe(rows.length);
  });

  it("reads PDF and DOCX files", async () => {
    const pdf = await upload("report.pdf", await makePdf([["Revenue grew in the first quarter."]]), "application/pdf");
    const docx = await upload("guide.docx", await makeDocx("Guide", ["Start here."]), "application/octet-stream");
    expect(await processFile(db(), blobs, local, pdf.id)).toEqual({ status: "ready", entries: 1 });
    expect(await processFile(db(), blobs, local, docx.id)).toEqual({ status: "ready", entries: 1 });
    expect((await entriesOf(pdf.id))[0]!.text).toContain("Revenue grew in the first quarter.");
    expect((await entriesOf(docx.id))[0]!.text).toBe("Guide\n\nStart here.");
  });

  it("marks a corrupt PDF failed with a readable reason and removes its old entries", async () => {
    const file = await upload("broken.pdf", await makePdf([["Fine for now."]]), "application/pdf");
    expect((await processFile(db(), blobs, local, file.id)).entries).toBe(1);
    // The same version's stored copy turns out damaged (stores never write over a copy: replace it).
    await blobs.delete(file.blobKey!);
    await blobs.put(file.blobKey!, new TextEncoder().encode("%PDF-1.7 and then nonsense"));

    const result = await processFile(db(), blobs, local, file.id);
    expect(result).toEqual({
      status: "failed",
      entries: 0,
      error: "This PDF could not be read: the file is damaged or is not a PDF.",
    });
    expect(await fileRow(file.id)).toMatchObject({ status: "failed", error: result.error });
    expect(await entriesOf(file.id)).toEqual([]);
  });

  it("clears a previous failure once the file processes", async () => {
    const file = await upload("recovers.txt", "Readable text.");
    await db().update(files).set({ status: "failed", error: "Earlier failure" }).where(eq(files.id, file.id));
    await processFile(db(), blobs, local, file.id);
    expect(await fileRow(file.id)).toMatchObject({ status: "ready", error: null });
  });

  it("keeps images and other unsupported types as ready files with no entries", async () => {
    const image = await upload("photo.png", PNG_BYTES, "image/png");
    const empty = await upload("empty.txt", "   \n\n  ");
    expect(await processFile(db(), blobs, local, image.id)).toEqual({ status: "ready", entries: 0 });
    expect(await processFile(db(), blobs, local, empty.id)).toEqual({ status: "ready", entries: 0 });
    expect(await fileRow(image.id)).toMatchObject({ status: "ready", error: null });
  });

  it("marks a file whose stored copy is missing failed", async () => {
    const file = await upload("lost.txt", "Gone from the store.");
    await blobs.delete(file.blobKey!);
    expect(await processFile(db(), blobs, local, file.id)).toEqual({
      status: "failed",
      entries: 0,
      error: MISSING_COPY_ERROR,
    });
    expect(await fileRow(file.id)).toMatchObject({ status: "failed", error: MISSING_COPY_ERROR });
  });

  it("marks the file failed when embedding fails", async () => {
    const file = await upload("unembeddable.txt", "Some text.");
    const failing: Embedder = {
      model: "remote",
      dimensions: 8,
      embed: () =>
        Promise.reject(new EmbeddingError("The embeddings service answered 401 Unauthorized: Invalid key", 401)),
    };
    expect(await processFile(db(), blobs, failing, file.id)).toEqual({
      status: "failed",
      entries: 0,
      error: "The embeddings service answered 401 Unauthorized: Invalid key",
    });
  });

  it("throws on infrastructure errors instead of blaming the file", async () => {
    const file = await upload("infra.txt", "Some text.");
    const before = await fileRow(file.id);
    const broken: BlobStore = {
      get: () => Promise.reject(Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" })),
      exists: () => Promise.resolve(true),
      open: (k) => blobs.open(k),
      put: (k, b) => blobs.put(k, b),
      delete: (k) => blobs.delete(k),
      deletePrefix: (p) => blobs.deletePrefix(p),
    };
    await expect(processFile(db(), broken, local, file.id)).rejects.toThrow("ETIMEDOUT");
    expect(await fileRow(file.id)).toEqual(before); // untouched by this run
  });

  it("returns gone for a file that does not exist", async () => {
    expect(await processFile(db(), blobs, local, "00000000-0000-4000-8000-000000000000")).toEqual({
      status: "gone",
      entries: 0,
    });
  });

  it("does not overwrite a newer version that replaced the file mid-processing", async () => {
    const file = await upload("racy.txt", "Old content about apples.");
    let newBlobKey = "";
    const racing = embedderWith(async () => {
      newBlobKey = (await upload("racy.txt", "New content about pears.")).blobKey!;
    });
    expect(await processFile(db(), blobs, racing, file.id)).toEqual({ status: "gone", entries: 0 });
    expect(await entriesOf(file.id)).toEqual([]);
    expect((await fileRow(file.id))!.blobKey).toBe(newBlobKey);
    // The newer version's own processing writes its entries.
    await processFile(db(), blobs, local, file.id);
    expect((await entriesOf(file.id)).map((r) => r.text)).toEqual(["New content about pears."]);
  });

  it("does not mark a newer version failed when the old one fails mid-replacement", async () => {
    const file = await upload("racy-fail.txt", "Old.");
    let newer: Awaited<ReturnType<typeof fileRow>>;
    const failing = embedderWith(
      async () => {
        await upload("racy-fail.txt", "New.");
        newer = await fileRow(file.id);
      },
      { model: "x", dimensions: 1, embed: () => Promise.reject(new EmbeddingError("down")) },
    );
    expect(await processFile(db(), blobs, failing, file.id)).toEqual({ status: "gone", entries: 0 });
    expect(await fileRow(file.id)).toEqual(newer!);
    expect(newer!.status).not.toBe("failed");
  });

  it("writes nothing for a file deleted mid-processing", async () => {
    const file = await upload("deleted.txt", paragraphs(3, "deletion"));
    const deleting = embedderWith(async () => {
      await db().delete(files).where(eq(files.id, file.id));
    });
    expect(await processFile(db(), blobs, deleting, file.id)).toEqual({ status: "gone", entries: 0 });
    expect(await fileRow(file.id)).toBeUndefined();
    expect(await db().select().from(entries).where(eq(entries.fileId, file.id))).toEqual([]);
  });

  it("caps the text processed for very large files", async () => {
    const line = "Large file line with several searchable words in it.\n";
    const body = line.repeat(Math.ceil((MAX_TEXT_CHARS + 400_000) / line.length)) + "MARKER-BEYOND-THE-CAP";
    const file = await upload("huge.txt", body);
    const result = await processFile(db(), blobs, local, file.id);
    expect(result.status).toBe("ready");
    expect(result.entries).toBeGreaterThan(1000);
    expect(result.entries).toBeLessThanOrEqual(2000);
    const rows = await db().select({ text: entries.text }).from(entries).where(eq(entries.fileId, file.id));
    expect(rows).toHaveLength(result.entries);
    expect(rows.some((r) => r.text.includes("MARKER-BEYOND-THE-CAP"))).toBe(false);
    const vectors = await db()
      .select({ entryId: embeddings.entryId })
      .from(embeddings)
      .innerJoin(entries, eq(entries.id, embeddings.entryId))
      .where(eq(entries.fileId, file.id));
    expect(vectors).toHaveLength(result.entries);
  }, 60_000);
});

describe("deleteDerivedData", () => {
  it("removes entries and embeddings of the given files only", async () => {
    const a = await upload("derived-a.txt", paragraphs(4, "a"));
    const b = await upload("derived-b.txt", paragraphs(4, "b"));
    const keep = await upload("derived-keep.txt", paragraphs(4, "keep"));
    const counts = await Promise.all([a, b, keep].map((f) => processFile(db(), blobs, local, f.id)));
    const aIds = (await entriesOf(a.id)).map((r) => r.id);

    const removed = await deleteDerivedData(db(), [a.id, b.id, a.id, "00000000-0000-4000-8000-000000000000"]);
    expect(removed).toBe(counts[0]!.entries + counts[1]!.entries);
    expect(await entriesOf(a.id)).toEqual([]);
    expect(await entriesOf(b.id)).toEqual([]);
    expect(await db().select().from(embeddings).where(inArray(embeddings.entryId, aIds))).toEqual([]);
    expect(await entriesOf(keep.id)).toHaveLength(counts[2]!.entries);
    // The file rows stay: deleting them is the caller's next step.
    expect(await fileRow(a.id)).toBeDefined();
    expect(await deleteDerivedData(db(), [a.id, b.id])).toBe(0);
    expect(await deleteDerivedData(db(), [])).toBe(0);
  });
});

describe("processFile when the embeddings service is down", () => {
  it("throws so the step is retried, and leaves the file processing rather than failed", async () => {
    const file = await upload("later.txt", "Text to embed once the service is back.");
    const down: Embedder = {
      model: "remote",
      dimensions: 384,
      embed: () => Promise.reject(new EmbeddingError("The embeddings service answered 503.", 503, { retryable: true })),
    };
    await expect(processFile(db(), blobs, down, file.id)).rejects.toThrow(/503/);
    expect((await fileRow(file.id))!.status).toBe("processing");
    expect(await processFile(db(), blobs, local, file.id)).toMatchObject({ status: "ready" });
  });
});
