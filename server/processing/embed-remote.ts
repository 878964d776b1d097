/**
 * Embeddings from an OpenAI-compatible service through the `openai` SDK: it builds `${url}/embeddings`, sends
 * the Bearer key, times out each attempt and retries 408/409/429/5xx and connection errors with backoff
 * (honouring Retry-After). Wire keeps its own answer checks and error wording.
 */
import "server-only";
import { STATUS_CODES } from "node:http";
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from "openai";
import { defined } from "@/server/defined";
import { EmbeddingError, type Embedder } from "./embedder";

export interface OpenAICompatibleOptions {
  /** Base URL; requests go to `${url}/embeddings`. */
  url: string;
  model: string;
  apiKey?: string;
  /** When set: sent as `dimensions` and every vector is checked against it. Otherwise learnt from the first answer. */
  dimensions?: number;
  /** Inputs per request; at most 64. */
  batchSize?: number;
  /** Per attempt, until the answer's headers. */
  timeoutMs?: number;
  /** Retries of 429 and 5xx answers and network errors (the SDK's backoff: 0.5 s, 1 s, … up to 8 s). */
  maxRetries?: number;
}

export const MAX_BATCH = 64;
const MAX_RETRY_AFTER_MS = 30_000;

/**
 * The SDK sleeps whatever Retry-After says (an hour, if a gateway says so) and keeps only `error` of a JSON error
 * body (vLLM puts its message at the top level). This fetch caps the wait at 30 s, and makeStatusError keeps the
 * whole body for the message.
 */
class Client extends OpenAI {
  protected override makeStatusError(
    status: number,
    body: object,
    text: string | undefined,
    headers: Headers,
  ): APIError {
    // Typed as an object, but undefined when the error body was not JSON.
    const parsed = body as object | undefined;
    return Object.assign(super.makeStatusError(status, body, text, headers), { body: parsed ?? text });
  }
}

export const cappedRetryAfter: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
  if (response.ok || !(retryAfter * 1000 > MAX_RETRY_AFTER_MS)) return response;
  const headers = new Headers(response.headers);
  headers.set("retry-after", String(MAX_RETRY_AFTER_MS / 1000));
  headers.delete("retry-after-ms");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
};

export class OpenAICompatibleEmbedder implements Embedder {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly apiKey: string | undefined;
  private readonly configuredDimensions: number | undefined;
  private learntDimensions: number | undefined;
  private readonly batchSize: number;
  private readonly timeoutMs: number;

  constructor(options: OpenAICompatibleOptions) {
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.configuredDimensions = options.dimensions;
    this.batchSize = Math.max(1, Math.min(MAX_BATCH, options.batchSize ?? MAX_BATCH));
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.client = new Client({
      baseURL: options.url.replace(/\/+$/, ""),
      // The SDK wants a key; without one the header is dropped below (a local server needs none).
      apiKey: options.apiKey ?? "none",
      defaultHeaders: options.apiKey ? {} : { Authorization: null },
      // Explicit, so OPENAI_ORG_ID / OPENAI_PROJECT_ID in the environment never reach another service.
      organization: null,
      project: null,
      maxRetries: options.maxRetries ?? 2,
      timeout: this.timeoutMs,
      fetch: cappedRetryAfter,
      fetchOptions: { redirect: "error" },
      logLevel: "off",
    });
  }

  /** The configured size, else the size the service answered with (0 before its first answer). */
  get dimensions(): number {
    return this.configuredDimensions ?? this.learntDimensions ?? 0;
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      out.push(...(await this.request(texts.slice(start, start + this.batchSize))));
    }
    return out;
  }

  private async request(texts: string[]): Promise<number[][]> {
    let text: string;
    try {
      // The raw answer: the SDK would pass a malformed body through unchecked (or a text body as a string).
      const response = await this.client.embeddings
        .create({
          model: this.model,
          // Most services refuse empty strings.
          input: texts.map((t) => (t.trim() ? t : " ")),
          encoding_format: "float",
          ...(this.configuredDimensions ? { dimensions: this.configuredDimensions } : {}),
        })
        .asResponse();
      text = await response.text();
    } catch (error) {
      throw this.toEmbeddingError(error);
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
    const data = (payload as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== expected) {
      throw new EmbeddingError(
        `The embeddings service returned ${Array.isArray(data) ? data.length : "no"} embeddings for ${expected} inputs.`,
      );
    }
    const vectors = new Array<number[]>(expected);
    const items: unknown[] = data;
    items.forEach((raw, position) => {
      const item = (raw ?? {}) as { index?: unknown; embedding?: unknown };
      const index = typeof item.index === "number" ? item.index : position;
      const embedding = item.embedding;
      if (
        !Array.isArray(embedding) ||
        embedding.length === 0 ||
        !embedding.every((v) => typeof v === "number" && Number.isFinite(v))
      ) {
        throw new EmbeddingError(
          'The embeddings service returned an embedding that is not a list of numbers (is encoding_format "float" supported?).',
        );
      }
      if (index < 0 || index >= expected || vectors[index])
        throw new EmbeddingError("The embeddings service returned embeddings with invalid indexes.");
      vectors[index] = embedding as number[];
    });
    const size = defined(vectors[0], "the first embedding").length;
    if (vectors.some((v) => v.length !== size))
      throw new EmbeddingError("The embeddings service returned vectors of different sizes.");
    const wanted = this.configuredDimensions ?? this.learntDimensions;
    if (wanted !== undefined && size !== wanted) {
      throw new EmbeddingError(
        `The embeddings service returned vectors of ${size} dimensions; ${wanted} were expected.`,
      );
    }
    this.learntDimensions = size;
    return vectors;
  }

  /** The SDK's error after its retries, in Wire's words; `retryable` tells the durable step to try again later. */
  private toEmbeddingError(error: unknown): EmbeddingError {
    if (error instanceof APIConnectionTimeoutError) {
      return new EmbeddingError(
        `The embeddings service did not answer within ${Number((this.timeoutMs / 1000).toFixed(1))} s.`,
        undefined,
        {
          cause: error,
          retryable: true,
        },
      );
    }
    if (error instanceof APIConnectionError) {
      return new EmbeddingError(
        `The embeddings service could not be reached (${this.redact(connectionReason(error))}).`,
        undefined,
        {
          cause: error,
          retryable: true,
        },
      );
    }
    // instanceof leaves the class's type parameters as any; these are what the SDK sets.
    const apiError = error instanceof APIError ? (error as APIError) : null;
    if (apiError?.status !== undefined) {
      const status = apiError.status;
      const reason = STATUS_CODES[status];
      const retryAfter = Number(apiError.headers?.get("retry-after") ?? Number.NaN);
      return new EmbeddingError(
        `The embeddings service answered ${status}${reason ? ` ${reason}` : ""}: ${this.redact(errorDetail((apiError as { body?: unknown }).body))}`,
        status,
        {
          retryable: status === 429 || status >= 500,
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
        },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    return new EmbeddingError(`The embeddings service could not be reached (${this.redact(message)}).`, undefined, {
      retryable: true,
    });
  }

  private redact(text: string): string {
    return this.apiKey ? text.split(this.apiKey).join("[redacted]") : text;
  }
}

/** The innermost code (ECONNREFUSED, …) of fetch's error chain, else its message. */
function connectionReason(error: Error): string {
  let current: unknown = error.cause;
  let message = error.message;
  while (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    message = current.message;
    current = current.cause;
  }
  return message;
}

/** The service's own message ({ error: { message } } in the OpenAI format), else the start of the body. */
function errorDetail(body: unknown): string {
  if (typeof body === "string") return clip(body.trim()) || "no details";
  const parsed = (body ?? {}) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
  const message =
    typeof parsed.error === "string" ? parsed.error : (parsed.error?.message ?? parsed.message ?? parsed.detail);
  if (typeof message === "string" && message.trim()) return clip(message.trim());
  return clip(JSON.stringify(body ?? "").trim()) || "no details";
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ");
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
