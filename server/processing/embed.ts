/**
 * Embeddings for entries. Two embedders behind one interface (embedder.ts):
 * - LocalEmbedder (embed-local.ts, default): deterministic feature hashing.
 * - OpenAICompatibleEmbedder (embed-remote.ts): any OpenAI-compatible service (OpenAI, Azure-style gateways,
 *   vLLM, Ollama, LiteLLM, …), chosen when WIRE_EMBEDDINGS_URL and WIRE_EMBEDDINGS_MODEL are set.
 */
import "server-only";
import { env, type Env } from "@/server/env";
import { logger } from "@/server/logger";
import { LocalEmbedder } from "./embed-local";
import { OpenAICompatibleEmbedder } from "./embed-remote";
import type { Embedder } from "./embedder";

export { LocalEmbedder, murmur3, tokenize } from "./embed-local";
export { MAX_BATCH, OpenAICompatibleEmbedder, type OpenAICompatibleOptions } from "./embed-remote";
export { type Embedder, EmbeddingError } from "./embedder";

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
