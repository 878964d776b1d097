/**
 * Splits a file's text into entries: chunks of at most `maxChars` characters that follow the text's own
 * structure. Paragraphs are kept whole when they fit; a paragraph that does not is split at line breaks, then
 * at sentence ends, then between words, and only a "word" longer than a whole chunk is cut mid-way.
 * Consecutive chunks share up to `overlapChars` of context (the end of the previous chunk, from a word start)
 * so a passage cut by a boundary can still be found. Same input, same output.
 */

export const DEFAULT_MAX_CHARS = 1_500;
export const DEFAULT_OVERLAP_CHARS = 150;
/** An overlap shorter than this carries no useful context: the chunk starts fresh instead. */
const MIN_OVERLAP_CHARS = 20;

export interface ChunkOptions {
  maxChars?: number;
  overlapChars?: number;
}

/** A piece of text and the separator that joins it to the piece before it. */
type Unit = { text: string; sep: string };

/**
 * Whitespace normalized: CRLF → LF, runs of spaces/tabs → one space, lines trimmed, blank-line runs → one
 * paragraph break, control characters (and NUL, which PostgreSQL text refuses) removed.
 */
export function normalizeWhitespace(text: string): string {
  return (
    text
      .replace(/\r\n?/g, "\n")
      // eslint-disable-next-line no-control-regex -- control characters are what this replace removes
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "")
      .replace(/[^\S\n]+/g, " ")
      .split("\n")
      .map((line) => line.trim())
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()
  );
}

export function splitIntoEntries(text: string, options: ChunkOptions = {}): string[] {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const overlapChars = options.overlapChars ?? DEFAULT_OVERLAP_CHARS;
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError("maxChars must be a positive integer");
  if (!Number.isInteger(overlapChars) || overlapChars < 0 || overlapChars >= maxChars) {
    throw new RangeError("overlapChars must be an integer from 0 to maxChars - 1");
  }
  const normalized = normalizeWhitespace(text);
  if (!normalized) return [];

  const chunks: string[] = [];
  let current = "";
  for (const unit of units(normalized, maxChars)) {
    if (!current) {
      current = unit.text;
    } else if (current.length + unit.sep.length + unit.text.length <= maxChars) {
      current += unit.sep + unit.text;
    } else {
      chunks.push(current);
      const joiner = unit.sep || " ";
      const overlap = tail(current, Math.min(overlapChars, maxChars - unit.text.length - joiner.length));
      current = overlap ? overlap + joiner + unit.text : unit.text;
    }
  }
  if (current) chunks.push(current);
  return chunks;
}

/** The end of `text`, at most `budget` characters, starting at a word boundary; "" when too short to help. */
function tail(text: string, budget: number): string {
  if (budget < MIN_OVERLAP_CHARS) return "";
  if (text.length <= budget) return text;
  const window = text.slice(text.length - budget);
  const start = window.search(/\s/);
  if (start < 0) return "";
  const overlap = window.slice(start).trim();
  return overlap.length >= MIN_OVERLAP_CHARS ? overlap : "";
}

// Each level splits a piece that is still too long; the last one cuts by length.
const LEVELS: { split: (text: string) => string[]; sep: string }[] = [
  { split: (t) => t.split("\n\n"), sep: "\n\n" },
  { split: (t) => t.split("\n"), sep: "\n" },
  // After ., ! or ? followed by a space; after CJK full stops even without one.
  { split: (t) => t.split(/(?<=[.!?…])\s+|(?<=[。！？])/u), sep: " " },
  { split: (t) => t.split(" "), sep: " " },
];

function units(text: string, maxChars: number): Unit[] {
  const out: Unit[] = [];
  const visit = (piece: string, level: number, sep: string) => {
    if (!piece) return;
    if (piece.length <= maxChars) {
      out.push({ text: piece, sep });
      return;
    }
    const rule = LEVELS[level];
    if (!rule) {
      cut(piece, maxChars).forEach((part, i) => out.push({ text: part, sep: i === 0 ? sep : "" }));
      return;
    }
    let first = true;
    for (const part of rule.split(piece)) {
      const trimmed = part.trim();
      if (!trimmed) continue;
      visit(trimmed, level + 1, first ? sep : rule.sep);
      first = false;
    }
  };
  visit(text, 0, "");
  return out;
}

/** Cuts by length, never between the two halves of a surrogate pair. */
function cut(text: string, maxChars: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + maxChars, text.length);
    const code = text.charCodeAt(end - 1);
    if (end < text.length && end - start > 1 && code >= 0xd800 && code <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}
