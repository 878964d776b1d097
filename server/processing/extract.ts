/**
 * Text out of a file's bytes. The format comes from the content type, or from the file name's extension when
 * the content type says nothing (application/octet-stream, binary/octet-stream, empty) — S3 objects and
 * agent writes often carry no useful type. Formats we cannot read (images, archives, …) are "unsupported":
 * the file is still stored and listed, it just has no entries.
 *
 * A file we should be able to read but cannot (a damaged PDF, a .docx that is not a Word document) throws an
 * ExtractionError whose message is written for the person who uploaded it.
 */
import { convert as htmlToText, type HtmlToTextOptions } from "html-to-text";
import mammoth from "mammoth";
import { extractText as extractPdfText, getDocumentProxy } from "unpdf";

export type ExtractInput = { body: Uint8Array; contentType: string; name: string };
export type ExtractResult = { kind: "text"; text: string } | { kind: "unsupported" };

export type Format = "text" | "markdown" | "csv" | "json" | "html" | "pdf" | "docx";

/** A file's content could not be read; the message is safe and meant to be shown to users. */
export class ExtractionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ExtractionError";
  }
}

/** How long one PDF or DOCX may take before we give up on it. */
export const EXTRACTION_TIMEOUT_MS = 60_000;

const GENERIC_TYPES = new Set([
  "",
  "application/octet-stream",
  "binary/octet-stream",
  "application/unknown",
  "application/x-unknown",
]);

const BY_TYPE: Record<string, Format> = {
  "text/plain": "text",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/csv": "csv",
  "application/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/json": "json",
  "text/json": "json",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "application/pdf": "pdf",
  "application/x-pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  // Text in all but name.
  "application/xml": "text",
  "application/yaml": "text",
  "application/x-yaml": "text",
  "application/toml": "text",
  "application/javascript": "text",
  "application/typescript": "text",
  "application/sql": "text",
  "application/x-sh": "text",
  "application/x-ndjson": "text",
  "application/jsonl": "text",
};

const BY_EXTENSION: Record<string, Format> = {
  txt: "text",
  text: "text",
  log: "text",
  md: "markdown",
  markdown: "markdown",
  mdx: "markdown",
  csv: "csv",
  tsv: "csv",
  json: "json",
  html: "html",
  htm: "html",
  xhtml: "html",
  pdf: "pdf",
  docx: "docx",
  xml: "text",
  yaml: "text",
  yml: "text",
  toml: "text",
  ini: "text",
  jsonl: "text",
  ndjson: "text",
  rst: "text",
  adoc: "text",
  tex: "text",
};

function normalizeContentType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

function extensionOf(name: string): string {
  const base = name.split("/").pop() ?? "";
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
}

/** The format to read a file as, or null when we do not read it. */
export function detectFormat(contentType: string, name: string): Format | null {
  const type = normalizeContentType(contentType);
  if (GENERIC_TYPES.has(type)) return BY_EXTENSION[extensionOf(name)] ?? null;
  const known = BY_TYPE[type];
  if (known) return known;
  if (type.endsWith("+json")) return "json";
  if (type.endsWith("+xml")) return "text";
  if (type.startsWith("text/")) return "text";
  return null;
}

/** Formats read line by line from the start: the first characters need only the first bytes. */
const READ_FROM_START = new Set<Format>(["text", "markdown", "csv"]);

/**
 * How many leading bytes of a file extraction reads when it keeps `maxChars` characters: none of a format we
 * do not read, at most 4 a character of plain text, all of one that must be parsed whole (JSON, HTML, PDF, DOCX).
 */
export function bytesToExtract(file: { contentType: string; name: string; size: number }, maxChars: number): number {
  const format = detectFormat(file.contentType, file.name);
  if (!format) return 0;
  return READ_FROM_START.has(format) ? Math.min(file.size, maxChars * 4) : file.size;
}

/**
 * `maxChars`: the caller keeps no more characters than this. Plain text is decoded only until it has them
 * (bytesToExtract says how many bytes that may take), so a large text file never becomes a string of its
 * whole size, nor of four times the characters kept.
 */
export async function extractText(input: ExtractInput, options: { maxChars?: number } = {}): Promise<ExtractResult> {
  const format = detectFormat(input.contentType, input.name);
  if (!format) return { kind: "unsupported" };
  const text = await extractFormat(format, input.body, options.maxChars);
  return { kind: "text", text: sanitize(text) };
}

async function extractFormat(format: Format, body: Uint8Array, maxChars = Number.POSITIVE_INFINITY): Promise<string> {
  switch (format) {
    case "text":
    case "markdown":
    case "csv":
      return decodeText(body, maxChars);
    case "json":
      return jsonToText(decodeText(body));
    case "html":
      return htmlToVisibleText(decodeText(body));
    case "pdf":
      return withTimeout(pdfToText(body), "This PDF could not be read: it took too long to process.");
    case "docx":
      return withTimeout(docxToText(body), "This Word document could not be read: it took too long to process.");
  }
}

/** Bytes decoded at a time when decoding stops at a number of characters. */
const DECODE_CHUNK_BYTES = 256 * 1024;

/**
 * UTF-8 (the default, BOM stripped), or UTF-16 when a UTF-16 BOM says so. Invalid bytes become U+FFFD.
 * Decoding stops once `maxChars` characters are read.
 */
export function decodeText(body: Uint8Array, maxChars = Number.POSITIVE_INFINITY): string {
  const encoding =
    body[0] === 0xff && body[1] === 0xfe ? "utf-16le" : body[0] === 0xfe && body[1] === 0xff ? "utf-16be" : "utf-8";
  const decoder = new TextDecoder(encoding);
  // Every encoding here takes at least a byte a character: a body this short holds no more than asked for.
  if (body.length <= maxChars) return decoder.decode(body);
  const parts: string[] = [];
  let chars = 0;
  for (let at = 0; chars < maxChars && at < body.length; at += DECODE_CHUNK_BYTES) {
    const end = at + DECODE_CHUNK_BYTES;
    const part = decoder.decode(body.subarray(at, end), { stream: end < body.length });
    parts.push(part);
    chars += part.length;
  }
  return parts.join("").slice(0, maxChars);
}

/** PostgreSQL text cannot hold NUL, and other control characters are noise in entries. */
function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are removed
  return text.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "");
}

// ---------------------------------------------------------------------------------------------------------
// JSON: values as indented "key: value" lines, which read (and embed) better than braces and quotes.
// Invalid JSON is still text, so it is kept as written.
// ---------------------------------------------------------------------------------------------------------

function jsonToText(raw: string): string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return raw;
  }
  const lines: string[] = [];
  renderJson(value, 0, lines);
  return lines.join("\n");
}

function scalar(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  // renderJson recurses into arrays and objects, so nothing else should reach here.
  return JSON.stringify(value);
}

function renderJson(value: unknown, depth: number, lines: string[], prefix = ""): void {
  const indent = "  ".repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) lines.push(`${indent}${prefix}`);
    for (const item of value) {
      if (item !== null && typeof item === "object") {
        lines.push(`${indent}-`);
        renderJson(item, depth + 1, lines);
      } else {
        lines.push(`${indent}- ${scalar(item)}`);
      }
    }
    return;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (item !== null && typeof item === "object") {
        lines.push(`${indent}${key}:`);
        renderJson(item, depth + 1, lines);
      } else {
        lines.push(`${indent}${key}: ${scalar(item)}`);
      }
    }
    return;
  }
  lines.push(`${indent}${scalar(value)}`);
}

// ---------------------------------------------------------------------------------------------------------
// HTML: what a reader sees. Scripts, styles, templates and embedded objects are dropped; links keep their text.
// ---------------------------------------------------------------------------------------------------------

const skip = (selector: string) => ({ selector, format: "skip" });

const HTML_OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    ...[
      "script",
      "style",
      "noscript",
      "template",
      "svg",
      "canvas",
      "iframe",
      "object",
      "embed",
      "img",
      "head > meta",
      "head > link",
    ].map(skip),
    { selector: "a", options: { ignoreHref: true } },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({ selector, options: { uppercase: false } })),
    { selector: "table", format: "dataTable", options: { uppercaseHeaderCells: false } },
  ],
};

function htmlToVisibleText(html: string): string {
  return htmlToText(html, HTML_OPTIONS);
}

// ---------------------------------------------------------------------------------------------------------
// PDF (unpdf: a serverless build of PDF.js) and DOCX (mammoth)
// ---------------------------------------------------------------------------------------------------------

async function pdfToText(body: Uint8Array): Promise<string> {
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // PDF.js may take ownership of the buffer it is given: hand it a copy. verbosity 0: errors only.
    pdf = await getDocumentProxy(new Uint8Array(body), { verbosity: 0, isEvalSupported: false, disableFontFace: true });
  } catch (error) {
    throw new ExtractionError(pdfReason(error), { cause: error });
  }
  try {
    const { text } = await extractPdfText(pdf, { mergePages: false });
    return text.join("\n\n");
  } catch (error) {
    throw new ExtractionError(pdfReason(error), { cause: error });
  } finally {
    void pdf.destroy().catch(() => {});
  }
}

function pdfReason(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  if (name === "PasswordException") return "This PDF is password-protected, so its text could not be read.";
  if (name === "InvalidPDFException") return "This PDF could not be read: the file is damaged or is not a PDF.";
  return `This PDF could not be read: ${shortMessage(error)}`;
}

async function docxToText(body: Uint8Array): Promise<string> {
  try {
    const { value } = await mammoth.extractRawText({
      buffer: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    });
    return value;
  } catch (error) {
    const message = error instanceof Error ? error.message : "";
    // JSZip ("end of central directory", "Corrupted zip") or a zip without word/document.xml.
    if (/zip|central directory|signature|could not find (main|file)|word\/document/i.test(message)) {
      throw new ExtractionError(
        "This Word document could not be read: the file is damaged or is not a .docx document.",
        { cause: error },
      );
    }
    throw new ExtractionError(`This Word document could not be read: ${shortMessage(error)}`, { cause: error });
  }
}

function shortMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const line = (raw.split("\n")[0] ?? "").trim() || "unknown error";
  const clipped = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return /[.!?…]$/.test(clipped) ? clipped : `${clipped}.`;
}

function withTimeout<T>(work: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExtractionError(message)), EXTRACTION_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
