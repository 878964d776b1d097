import { describe, expect, it } from "vitest";
import { bytesToExtract, detectFormat, ExtractionError, extractText } from "./extract";
import { makeDocx, makePdf, PNG_BYTES } from "./test-fixtures";

const utf8 = (text: string) => new TextEncoder().encode(text);

async function textOf(body: Uint8Array | string, contentType: string, name = "file") {
  const result = await extractText({ body: typeof body === "string" ? utf8(body) : body, contentType, name });
  if (result.kind !== "text") throw new Error(`expected text, got ${result.kind}`);
  return result.text;
}

describe("detectFormat", () => {
  it.each([
    ["text/plain", "a.bin", "text"],
    ["text/markdown; charset=utf-8", "a", "markdown"],
    ["TEXT/CSV", "a", "csv"],
    ["application/json", "a", "json"],
    ["application/ld+json", "a", "json"],
    ["text/html", "a", "html"],
    ["application/pdf", "a", "pdf"],
    ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a", "docx"],
    ["text/x-python", "a.py", "text"],
    ["application/octet-stream", "reports/Q1.PDF", "pdf"],
    ["binary/octet-stream", "notes.md", "markdown"],
    ["", "data.csv", "csv"],
    ["application/octet-stream", "page.htm", "html"],
    ["application/octet-stream", "letter.docx", "docx"],
    ["application/octet-stream", "config.json", "json"],
  ])("%s + %s → %s", (type, name, format) => {
    expect(detectFormat(type, name)).toBe(format);
  });

  it.each([
    ["image/png", "a.png"],
    ["application/zip", "a.zip"],
    ["application/msword", "a.doc"],
    ["application/octet-stream", "photo.jpg"],
    ["application/octet-stream", "no-extension"],
    ["application/octet-stream", ".hidden"],
    // A specific type wins over the extension.
    ["image/png", "looks-like.txt"],
  ])("%s + %s → unsupported", (type, name) => {
    expect(detectFormat(type, name)).toBeNull();
  });
});

describe("bytesToExtract", () => {
  const size = 100_000_000;
  it.each([
    ["text/plain", "notes.txt", 4_000],
    ["application/octet-stream", "table.csv", 4_000],
    ["text/markdown", "notes.md", 4_000],
    ["application/json", "data.json", size],
    ["text/html", "page.html", size],
    ["application/pdf", "report.pdf", size],
    ["image/png", "photo.png", 0],
    ["application/octet-stream", "archive.zip", 0],
  ])("%s %s: %d bytes of a 100 MB file for 1,000 characters", (contentType, name, bytes) => {
    expect(bytesToExtract({ contentType, name, size }, 1_000)).toBe(bytes);
  });

  it("never more than the file holds", () => {
    expect(bytesToExtract({ contentType: "text/plain", name: "a.txt", size: 10 }, 1_000)).toBe(10);
  });
});

describe("extractText", () => {
  it("reads plain text as UTF-8 and strips a BOM", async () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8("Grüße, 世界!\r\nLine two")]);
    expect(await textOf(body, "text/plain")).toBe("Grüße, 世界!\nLine two");
  });

  it("reads UTF-16 text with a BOM", async () => {
    const le = new Uint8Array([0xff, 0xfe, ...Buffer.from("Hello UTF-16", "utf16le")]);
    expect(await textOf(le, "text/plain")).toBe("Hello UTF-16");
  });

  it("decodes plain text only as far as the caller reads, whatever the characters' widths", async () => {
    const wide = "世界🙂".repeat(1000); // 3- and 4-byte characters
    const body = utf8(wide + "x".repeat(1_000_000));
    const result = await extractText({ body, contentType: "text/plain", name: "big.txt" }, { maxChars: 2000 });
    expect(result.kind === "text" && result.text).toBe(wide.slice(0, 2000));
  });

  it("decodes characters split across the chunks it decodes in, and UTF-16, up to the characters asked for", async () => {
    const text = "a".repeat(256 * 1024 - 1) + "世界".repeat(100_000); // the first 世 straddles the first chunk's end
    const maxChars = 256 * 1024 - 1 + 150_000;
    const read = await extractText({ body: utf8(text), contentType: "text/plain", name: "a.txt" }, { maxChars });
    expect(read.kind === "text" && read.text).toBe(text.slice(0, maxChars));
    const utf16 = new Uint8Array([0xff, 0xfe, ...new Uint8Array(Buffer.from(text, "utf16le"))]);
    const read16 = await extractText({ body: utf16, contentType: "text/plain", name: "a.txt" }, { maxChars });
    expect(read16.kind === "text" && read16.text).toBe(text.slice(0, maxChars));
  });

  it("removes NUL and other control characters PostgreSQL text cannot take", async () => {
    expect(await textOf("a\u0000b\u0007c\td", "text/plain")).toBe("abc\td");
  });

  it("reads Markdown as written", async () => {
    const md = "# Title\n\nSome *emphasis* and a [link](https://example.com).\n\n- one\n- two";
    expect(await textOf(md, "text/markdown")).toBe(md);
  });

  it("reads CSV, also from a generic type by extension", async () => {
    const csv = "name,amount\nAlice,10\nBob,20\n";
    expect(await textOf(csv, "text/csv")).toBe(csv);
    expect(await textOf(csv, "application/octet-stream", "exports/data.csv")).toBe(csv);
  });

  it("renders JSON values as readable lines", async () => {
    const json = JSON.stringify({
      title: "Quarterly report",
      revenue: { q1: 12, q2: 9 },
      tags: ["finance", "2026"],
      people: [{ name: "Ada" }],
      draft: false,
      owner: null,
    });
    const text = await textOf(json, "application/json");
    expect(text).toContain("title: Quarterly report");
    expect(text).toContain("revenue:\n  q1: 12\n  q2: 9");
    expect(text).toContain("tags:\n  - finance\n  - 2026");
    expect(text).toContain("name: Ada");
    expect(text).toContain("draft: false");
    expect(text).toContain("owner: null");
    expect(text).not.toMatch(/[{}"]/);
  });

  it("keeps invalid JSON as text", async () => {
    expect(await textOf('{"broken": tru', "application/json")).toBe('{"broken": tru');
  });

  it("keeps the visible text of HTML and drops scripts, styles and markup", async () => {
    const html = `<!doctype html><html><head><title>Page title</title><style>body { color: red }</style>
      <script>var secret = "do not index";</script></head>
      <body><h1>Welcome</h1><p>Hello <b>world</b> and <a href="https://example.com/x">a link</a>.</p>
      <noscript>Enable JavaScript</noscript><script type="module">console.log("hidden")</script>
      <ul><li>First</li><li>Second</li></ul><img src="x.png" alt="picture"></body></html>`;
    const text = await textOf(html, "text/html; charset=utf-8");
    expect(text).toContain("Welcome");
    expect(text).toContain("Hello world and a link.");
    expect(text).toContain("First");
    expect(text).toContain("Second");
    expect(text).not.toMatch(/do not index|console\.log|color: red|Enable JavaScript|example\.com|<|>/);
  });

  it("reads the text of every page of a PDF", async () => {
    const pdf = await makePdf([
      ["Quarterly revenue report", "Revenue grew twelve percent."],
      ["Second page about hiring."],
    ]);
    const text = await textOf(pdf, "application/pdf");
    expect(text).toContain("Quarterly revenue report");
    expect(text).toContain("Revenue grew twelve percent.");
    expect(text).toContain("Second page about hiring.");
    expect(text.indexOf("Quarterly")).toBeLessThan(text.indexOf("Second page"));
    // Same bytes via a generic type and the extension.
    expect(await textOf(pdf, "binary/octet-stream", "q1.pdf")).toBe(text);
  });

  it("reads the text of a DOCX", async () => {
    const docx = await makeDocx("Onboarding guide", ["Welcome to the team.", "Your first week starts on Monday."]);
    const text = await textOf(docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
    expect(text).toContain("Onboarding guide");
    expect(text).toContain("Welcome to the team.");
    expect(text).toContain("Your first week starts on Monday.");
    expect(await textOf(docx, "application/octet-stream", "guide.docx")).toBe(text);
  });

  it.each([
    ["garbage", utf8("this is not a PDF at all")],
    ["a truncated PDF", null],
    ["empty", new Uint8Array()],
  ])("throws a readable error for a corrupt PDF (%s)", async (_label, bytes) => {
    const body = bytes ?? (await makePdf([["Hello"]])).slice(0, 300);
    const error = await extractText({ body, contentType: "application/pdf", name: "bad.pdf" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractionError);
    expect((error as Error).message).toMatch(/^This PDF could not be read: /);
    expect((error as Error).message.length).toBeLessThan(250);
  });

  it.each([
    ["not a zip", utf8("plain text pretending to be a Word document")],
    ["a zip without a document", new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)])],
  ])("throws a readable error for a corrupt DOCX (%s)", async (_label, body) => {
    const error = await extractText({ body, contentType: "application/octet-stream", name: "bad.docx" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExtractionError);
    expect((error as Error).message).toBe(
      "This Word document could not be read: the file is damaged or is not a .docx document.",
    );
  });

  it.each([
    ["image/png", "photo.png", PNG_BYTES],
    ["application/zip", "archive.zip", new Uint8Array([0x50, 0x4b, 0x03, 0x04])],
    ["application/octet-stream", "photo.jpg", new Uint8Array([0xff, 0xd8, 0xff])],
  ])("returns unsupported for %s", async (contentType, name, body) => {
    expect(await extractText({ body, contentType, name })).toEqual({ kind: "unsupported" });
  });
});
