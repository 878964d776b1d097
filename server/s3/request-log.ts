/**
 * Observes every HTTP request an S3 client made by createS3Client sends (each retry attempt included), so tests
 * can prove the app only reads, and only under the configured prefix.
 */
import type { S3Client } from "@aws-sdk/client-s3";

export interface S3RequestRecord {
  /** Operation name without "Command": "HeadBucket", "ListObjectsV2", "GetObject", ... */
  operation: string;
  /** HTTP method actually sent: "HEAD", "GET", ... */
  method: string;
  /** Host the request went to (the endpoint's hostname or the AWS S3 host). */
  host: string;
  bucket?: string;
  key?: string;
  prefix?: string;
  maxKeys?: number;
  continuationToken?: string;
  startAfter?: string;
  delimiter?: string;
}

export type S3RequestListener = (record: S3RequestRecord) => void;

const listeners = new Set<S3RequestListener>();

/** Calls `listener` for every request any S3 client from createS3Client sends. Returns an unsubscribe function. */
export function onS3Request(listener: S3RequestListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

function record(operation: string, input: Record<string, unknown>, request: unknown): S3RequestRecord {
  const req = (request ?? {}) as { method?: string; hostname?: string };
  const entry: S3RequestRecord = {
    operation,
    method: (req.method ?? "").toUpperCase(),
    host: req.hostname ?? "",
  };
  const fields = {
    bucket: str(input.Bucket),
    key: str(input.Key),
    prefix: str(input.Prefix),
    maxKeys: typeof input.MaxKeys === "number" ? input.MaxKeys : undefined,
    continuationToken: str(input.ContinuationToken),
    startAfter: str(input.StartAfter),
    delimiter: str(input.Delimiter),
  };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) Object.assign(entry, { [k]: v });
  return entry;
}

type Middleware = Parameters<S3Client["middlewareStack"]["add"]>[0];

const logMiddleware: Middleware = (next, context) => async (args) => {
  if (listeners.size > 0) {
    const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
    const entry = record(operation, args.input as Record<string, unknown>, (args as { request?: unknown }).request);
    for (const listener of listeners) {
      try {
        listener({ ...entry });
      } catch {
        // An observer must never break the request it observes.
      }
    }
  }
  return next(args);
};

/** Installs the request log on a client (done by createS3Client). */
export function attachRequestLog(client: S3Client): void {
  client.middlewareStack.add(logMiddleware, {
    step: "deserialize",
    name: "wireS3RequestLog",
    priority: "low",
    override: true,
  });
}
