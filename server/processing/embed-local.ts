/**
 * The default embedder: signed feature hashing of word unigrams and bigrams. Deterministic, no network and no
 * model to download. Texts that share words and word pairs get close vectors; it is a lexical embedding, not a
 * semantic one.
 */
import murmurhash from "murmurhash";
import type { Embedder } from "./embedder";

// Function words carry no topic; dropping them keeps unrelated texts apart.
const STOPWORDS = new Set(
  (
    "a an and are as at be been but by for from has have he her his i if in into is it its me my no not of on or " +
    "our she so than that the their them then there these they this those to was we were what when where which " +
    "who will with you your"
  ).split(" "),
);

/**
 * MurmurHash3 (x86, 32-bit) of a string's UTF-16 code units, little-endian: what wire-local-hash-v1 has always
 * hashed. The murmurhash package would UTF-8-encode a string, so it gets the UTF-16LE bytes instead
 * (identical to the old hand-written hash on 600 k random strings, lone surrogates included). The buffer per
 * feature costs ~2× the hash time (0.2 vs 0.1 ms per 600-word entry), small next to storing the vector.
 * The version is pinned: stored vectors depend on these values (embed.test.ts pins some).
 */
export function murmur3(text: string, seed: number): number {
  return murmurhash.v3(Buffer.from(text, "utf16le"), seed);
}

export function tokenize(text: string): string[] {
  const words =
    text
      .normalize("NFKC")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const content = words.filter((w) => !STOPWORDS.has(w));
  return content.length ? content : words;
}

export class LocalEmbedder implements Embedder {
  readonly model = "wire-local-hash-v1";
  readonly dimensions: number;

  constructor(options: { dimensions?: number } = {}) {
    this.dimensions = options.dimensions ?? 384;
  }

  embedOne(text: string): number[] {
    const vector = new Float64Array(this.dimensions);
    const tokens = tokenize(text);
    const add = (feature: string, weight: number) => {
      const index = murmur3(feature, 0x5f3759df) % this.dimensions;
      const sign = murmur3(feature, 0x2545f491) & 1 ? 1 : -1;
      vector[index] = (vector[index] ?? 0) + sign * weight;
    };
    tokens.forEach((token, i) => {
      add(token, 1);
      const next = tokens[i + 1];
      if (next !== undefined) add(`${token} ${next}`, 0.5);
    });
    let norm = 0;
    for (const v of vector) norm += v * v;
    norm = Math.sqrt(norm);
    return Array.from(vector, (v) => (norm > 0 ? Math.fround(v / norm) : 0));
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (const [i, text] of texts.entries()) {
      out.push(this.embedOne(text));
      // Hashing thousands of entries is CPU work: let other requests in now and then.
      if (i % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  }
}
