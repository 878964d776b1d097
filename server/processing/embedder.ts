/** What the pipeline needs from an embedder, and the error every embedder throws. */
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
