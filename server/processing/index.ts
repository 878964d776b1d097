/** File processing: extract text, split it into entries, embed them, write them. See pipeline.ts. */
export { extractText, detectFormat, ExtractionError, type ExtractInput, type ExtractResult, type Format } from "./extract";
export { splitIntoEntries, normalizeWhitespace, DEFAULT_MAX_CHARS, DEFAULT_OVERLAP_CHARS, type ChunkOptions } from "./chunk";
export { embedder, embedderFromEnv, LocalEmbedder, OpenAICompatibleEmbedder, EmbeddingError, type Embedder, type OpenAICompatibleOptions } from "./embed";
export { processFile, deleteDerivedData, countEntries, MAX_ENTRIES, MAX_TEXT_CHARS, MISSING_COPY_ERROR, type ProcessResult } from "./pipeline";
