/**
 * Embeddings for entries. Two embedders behind one interface:
 * - LocalEmbedder (default): deterministic feature hashing, no network and no model to download. Texts that
 *   share words and word pairs get close vectors; it is a lexical embedding, not a semantic one.
 * - OpenAICompatibleEmbedder: POST <url>/embeddings of any OpenAI-compatible service (OpenAI, Azure-style
 *   gateways, vLLM, Ollama, LiteLLM, …), chosen when WIRE_EMBEDDINGS_URL and WIRE_EMBEDDINGS_MODEL are set.
 */
import "server-only";
import { setTimeout as sleep } from "node:timers/promises";
import murmurhash from "murmurhash";
import { env, type Env } from "@/server/env";
import { logger } from "@/server/logger";

export interface Embedder {
  /** Stored with every vector, so vectors of different models are never compared. */
  readonly model: string;
  readonly dimensions: number;
  /** One vector per text, in order. */
  embed(texts: string[]): Promise<number[][]>;
}

/** Embeddings could not be computed; the message is safe to show (never carries credentials). */
export class EmbeddingError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown; retryable?: boolean; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = "EmbeddingError";
    this.retryable = options?.retryable ?? false;
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** Worth trying again: the service was unreachable, slow, rate-limiting or failing (429, 5xx). */
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Local: signed feature hashing of word unigrams and bigrams
// ---------------------------------------------------------------------------------------------------------

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
  const words = text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
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
      vector[index]! += sign * weight;
    };
    for (let i = 0; i < tokens.length; i++) {
      add(tokens[i]!, 1);
      if (i + 1 < tokens.length) add(`${tokens[i]} ${tokens[i + 1]}`, 0.5);
    }
    let norm = 0;
    for (const v of vector) norm += v * v;
    norm = Math.sqrt(norm);
    return Array.from(vector, (v) => (norm > 0 ? Math.fround(v / norm) : 0));
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i++) {
      out.push(this.embedOne(texts[i]!));
      // Hashing thousands of entries is CPU work: let other requests in now and then.
      if (i % 256 === 255) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI-compatible HTTP endpoint
// ---------------------------------------------------------------------------------------------------------

export interface OpenAICompatibleOptions {
  /** Base URL; requests go to `${url}/embeddings`. */
  url: string;
  model: string;
  apiKey?: string;
  /** When set: sent as `dimensions` and every vector is checked against it. Otherwise learnt from the first answer. */
  dimensions?: number;
  /** Inputs per request; at most 64. */
  batchSize?: number;
  timeoutMs?: number;
  /** Retries of 429 and 5xx answers and network errors, with exponential backoff from retryDelayMs. */
  maxRetries?: number;
  retryDelayMs?: number;
}

export const MAX_BATCH = 64;

export class OpenAICompatibleEmbedder implements Embedder {
  readonly model: string;
  private readonly endpoint: string;
  private readonly apiKey: string | undefined;
  private readonly configuredDimensions: number | undefined;
  private learntDimensions: number | undefined;
  private readonly batchSize: number;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;

  constructor(options: OpenAICompatibleOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, "")}/embeddings`;
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.configuredDimensions = options.dimensions;
    this.batchSize = Math.max(1, Math.min(MAX_BATCH, options.batchSize ?? MAX_BATCH));
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxRetries = options.maxRetries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
  }

  /** The configured size, else the size the service answered with (0 before its first answer). */
  get dimensions(): number {
    return this.configuredDimensions ?? this.learntDimensions ?? 0;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      out.push(...(await this.embedBatch(texts.slice(start, start + this.batchSize))));
    }
    return out;
  }

  private async embedBatch(texts: string[]): Promise<number[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request(texts);
      } catch (error) {
        if (!(error instanceof EmbeddingError) || !error.retryable || attempt >= this.maxRetries) throw error;
        await sleep(Math.min(error.retryAfterMs ?? this.retryDelayMs * 2 ** attempt, 30_000));
      }
    }
  }

  private async request(texts: string[]): Promise<number[][]> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const body: Record<string, unknown> = {
      model: this.model,
      // Most services refuse empty strings.
      input: texts.map((t) => (t.trim() ? t : " ")),
      encoding_format: "float",
    };
    if (this.configuredDimensions) body.dimensions = this.configuredDimensions;

    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
    } catch (error) {
      throw this.networkError(error);
    }

    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw this.networkError(error);
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
      throw new EmbeddingError(
        `The embeddings service answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}: ${this.redact(errorDetail(text))}`,
        response.status,
        {
          retryable: response.status === 429 || response.status >= 500,
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
        },
      );
    }
    return this.parse(text, texts.length);
  }

  private parse(text: string, expected: number): number[][] {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new EmbeddingError("The embeddings service returned a response that is not JSON.");
    }
    const data = (payload as { data?: unknown })?.data;
    if (!Array.isArray(data) || data.length !== expected) {
      throw new EmbeddingError(
        `The embeddings service returned ${Array.isArray(data) ? data.length : "no"} embeddings for ${expected} inputs.`,
      );
    }
    const vectors: number[][] = new Array(expected);
    data.forEach((item: { index?: unknown; embedding?: unknown }, position) => {
      const index = typeof item?.index === "number" ? item.index : position;
      const embedding = item?.embedding;
      if (!Array.isArray(embedding) || embedding.length === 0 || !embedding.every((v) => typeof v === "number" && Number.isFinite(v))) {
        throw new EmbeddingError("The embeddings service returned an embedding that is not a list of numbers (is encoding_format \"float\" supported?).");
      }
      if (index < 0 || index >= expected || vectors[index]) throw new EmbeddingError("The embeddings service returned embeddings with invalid indexes.");
      vectors[index] = embedding as number[];
    });
    const size = vectors[0]!.length;
    if (vectors.some((v) => v.length !== size)) throw new EmbeddingError("The embeddings service returned vectors of different sizes.");
    const wanted = this.configuredDimensions ?? this.learntDimensions;
    if (wanted !== undefined && size !== wanted) {
      throw new EmbeddingError(`The embeddings service returned vectors of ${size} dimensions; ${wanted} were expected.`);
    }
    this.learntDimensions = size;
    return vectors;
  }

  private networkError(error: unknown): EmbeddingError {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      return new EmbeddingError(`The embeddings service did not answer within ${Number((this.timeoutMs / 1000).toFixed(1))} s.`, undefined, {
        retryable: true,
      });
    }
    const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    return new EmbeddingError(`The embeddings service could not be reached (${this.redact(reason)}).`, undefined, { retryable: true });
  }

  private redact(text: string): string {
    return this.apiKey ? text.split(this.apiKey).join("[redacted]") : text;
  }
}

/** The service's own error message ({ error: { message } } in the OpenAI format), else the start of the body. */
function errorDetail(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    const message =
      typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message ?? parsed.detail);
    if (typeof message === "string" && message.trim()) return clip(message.trim());
  } catch {
    // not JSON
  }
  return clip(body.trim()) || "no details";
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

// ---------------------------------------------------------------------------------------------------------
// The configured embedder
// ---------------------------------------------------------------------------------------------------------

/**
 * The embedder a configuration asks for: OpenAI-compatible when WIRE_EMBEDDINGS_URL and
 * WIRE_EMBEDDINGS_MODEL are both set, the local one otherwise.
 */
export function embedderFromEnv(config: Env): Embedder {
  if (config.WIRE_EMBEDDINGS_URL && config.WIRE_EMBEDDINGS_MODEL) {
    return new OpenAICompatibleEmbedder({
      url: config.WIRE_EMBEDDINGS_URL,
      model: config.WIRE_EMBEDDINGS_MODEL,
      apiKey: config.WIRE_EMBEDDINGS_API_KEY,
      dimensions: config.WIRE_EMBEDDINGS_DIMENSIONS,
      timeoutMs: config.WIRE_EMBEDDINGS_TIMEOUT_MS,
    });
  }
  if (config.WIRE_EMBEDDINGS_URL || config.WIRE_EMBEDDINGS_MODEL) {
    logger.warn("Only one of WIRE_EMBEDDINGS_URL and WIRE_EMBEDDINGS_MODEL is set: using the local embedder");
  }
  return new LocalEmbedder();
}

let configured: Embedder | undefined;

/** The configured embedder, created once per process. */
export function embedder(): Embedder {
  if (!configured) {
    configured = embedderFromEnv(env());
    logger.info({ model: configured.model }, "Embedder selected");
  }
  return configured;
}
