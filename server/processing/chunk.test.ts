import { describe, expect, it } from "vitest";
import { normalizeWhitespace, splitIntoEntries } from "./chunk";

/** Deterministic prose: numbered sentences of varying length. */
function prose(sentences: number, seed = 1): string {
  const words = [
    "alpha",
    "report",
    "revenue",
    "growth",
    "team",
    "quarter",
    "budget",
    "plan",
    "market",
    "customer",
    "risk",
    "hiring",
  ];
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < sentences; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = 5 + (x % 20);
    const sentence = Array.from({ length: n }, (_, j) => words[(x + j * 7) % words.length]).join(" ");
    out.push(`Sentence ${i} ${sentence}.`);
  }
  return out.join(" ");
}

describe("normalizeWhitespace", () => {
  it("collapses spaces, trims lines, keeps line and paragraph breaks", () => {
    expect(normalizeWhitespace("  a\t\t b  \r\n  c \n\n\n\n d\u0000 ")).toBe("a b\nc\n\nd");
  });
});

describe("splitIntoEntries", () => {
  it("returns nothing for empty or blank text", () => {
    expect(splitIntoEntries("")).toEqual([]);
    expect(splitIntoEntries(" \n\n\t \r\n ")).toEqual([]);
  });

  it("keeps a short text as one normalized entry", () => {
    expect(splitIntoEntries("  Hello   world.\r\n\r\n\r\nSecond  paragraph. ")).toEqual([
      "Hello world.\n\nSecond paragraph.",
    ]);
  });

  it("never exceeds maxChars and never emits an empty chunk", () => {
    const text = [prose(40, 1), prose(3, 2), "x".repeat(5000), prose(80, 3), "short", prose(10, 4)].join("\n\n");
    for (const [maxChars, overlapChars] of [
      [1500, 150],
      [500, 100],
      [200, 0],
      [80, 30],
    ] as const) {
      const chunks = splitIntoEntries(text, { maxChars, overlapChars });
      expect(chunks.length).toBeGreaterThan(1);
      for (const chunk of chunks) {
        expect(chunk.length).toBeLessThanOrEqual(maxChars);
        expect(chunk.trim()).toBe(chunk);
        expect(chunk.length).toBeGreaterThan(0);
      }
    }
  });

  it("uses the defaults (~1,500 chars) and fills chunks reasonably", () => {
    const chunks = splitIntoEntries(prose(400));
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.length).toBeLessThanOrEqual(1500);
      expect(chunk.length).toBeGreaterThan(1000);
    }
  });

  it("is deterministic", () => {
    const text = [prose(100, 7), prose(50, 8)].join("\n\n");
    expect(splitIntoEntries(text, { maxChars: 300, overlapChars: 50 })).toEqual(
      splitIntoEntries(text, { maxChars: 300, overlapChars: 50 }),
    );
  });

  it("keeps paragraphs whole when they fit and breaks between them", () => {
    const paragraphs = [prose(6, 1), prose(6, 2), prose(6, 3)];
    const chunks = splitIntoEntries(paragraphs.join("\n\n"), {
      maxChars: Math.max(...paragraphs.map((p) => p.length)) + 5,
      overlapChars: 0,
    });
    expect(chunks).toEqual(paragraphs);
  });

  it("splits long paragraphs at sentence ends", () => {
    const chunks = splitIntoEntries(prose(60), { maxChars: 400, overlapChars: 0 });
    for (const chunk of chunks) {
      expect(chunk).toMatch(/^Sentence \d+ /);
      expect(chunk).toMatch(/\.$/);
    }
  });

  it("overlaps consecutive chunks with the end of the previous one, from a word start", () => {
    const text = prose(60);
    const chunks = splitIntoEntries(text, { maxChars: 400, overlapChars: 100 });
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]!;
      const current = chunks[i]!;
      // Some suffix of the previous chunk (at least a few words) starts the current one.
      const shared = [...Array(101).keys()]
        .reverse()
        .find((n) => n >= 20 && current.startsWith(previous.slice(previous.length - n)));
      expect(shared, `chunk ${i} should start with the end of chunk ${i - 1}`).toBeDefined();
      expect(previous.charAt(previous.length - shared! - 1)).toBe(" ");
    }
  });

  it("loses no text: without overlap, chunks concatenate back to the normalized text", () => {
    const text = [prose(30, 5), "word ".repeat(400), "y".repeat(3000), prose(20, 6)].join("\n\n");
    const chunks = splitIntoEntries(text, { maxChars: 250, overlapChars: 0 });
    const strip = (t: string) => t.replace(/\s+/g, "");
    expect(strip(chunks.join(""))).toBe(strip(text));
    expect(chunks.join("").replace(/[^y]/g, "").length).toBe(3000);
  });

  it("keeps CSV rows whole", () => {
    const rows = Array.from({ length: 200 }, (_, i) => `row-${i},customer ${i},${i * 10}`);
    const chunks = splitIntoEntries(["id,name,amount", ...rows].join("\n"), { maxChars: 300, overlapChars: 0 });
    for (const chunk of chunks)
      for (const line of chunk.split("\n")) expect(line).toMatch(/^(id,name,amount|row-\d+,customer \d+,\d+)$/);
  });

  it("never splits a surrogate pair", () => {
    const chunks = splitIntoEntries("😀".repeat(500), { maxChars: 101, overlapChars: 0 });
    for (const chunk of chunks)
      expect(chunk).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(chunks.join("")).toBe("😀".repeat(500));
  });

  it("rejects impossible options", () => {
    expect(() => splitIntoEntries("x", { maxChars: 0 })).toThrow(RangeError);
    expect(() => splitIntoEntries("x", { maxChars: 100, overlapChars: 100 })).toThrow(RangeError);
  });
});
