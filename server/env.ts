/**
 * The one reader of process.env. Every setting is validated here so a bad value fails at start
 * with the variable's name, not later with a confusing error deep in a request.
 */
import "server-only";
import path from "node:path";
import { z } from "zod";
import { parseTrustedProxies } from "./client-address";

const port = z.coerce.number().int().min(1).max(65535);
const optionalString = z.string().trim().min(1).optional();

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** Postgres connection string. When unset Wire runs an embedded PostgreSQL under WIRE_DATA_DIR. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Where Wire keeps local state: embedded database, stored copies, generated secrets. */
  WIRE_DATA_DIR: z.string().min(1).default(".data"),
  WIRE_EMBEDDED_PG_PORT: port.default(54329),
  /** Public origin of the app, used for auth cookies and trusted origins. */
  WIRE_PUBLIC_URL: z.url().default("http://localhost:3000"),
  /** Session signing secret; generated into WIRE_DATA_DIR on first start when unset. */
  BETTER_AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Brute-force protection on sign-in/sign-up; only test suites that sign up many users turn it off. */
  WIRE_AUTH_RATE_LIMIT: z.enum(["on", "off"]).default("on"),
  /**
   * Reverse proxies (comma-separated IPs and CIDR ranges) whose X-Forwarded-For is believed when finding a
   * client's address; with none, the socket's peer address is the client (server/client-address.ts).
   */
  WIRE_TRUSTED_PROXIES: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        parseTrustedProxies(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    }),
  /** SMTP server for outgoing mail (smtp:// or smtps://user:pass@host:port); unset: mail goes to WIRE_DATA_DIR/outbox. */
  WIRE_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  WIRE_MAIL_FROM: z.string().trim().min(3).default("Wire <wire@localhost>"),
  WIRE_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(50 * 1024 * 1024),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Embedded engine (used when no INNGEST_* variable is set): loopback port, workers, retry backoff. */
  WIRE_ENGINE_PORT: port.default(54330),
  WIRE_ENGINE_WORKERS: z.coerce.number().int().min(1).max(64).default(4),
  WIRE_ENGINE_BACKOFF_MS: z.coerce.number().int().min(1).default(1000),
  WIRE_ENGINE_REQUEST_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(15 * 60 * 1000),
  /**
   * Where this process's engine calls the app's Inngest endpoint; defaults to WIRE_PUBLIC_URL + /api/inngest.
   * With several processes, point each at itself (or all at the shared public URL).
   */
  WIRE_ENGINE_APP_URL: z.url().optional(),
  /** Days the engine keeps completed and cancelled runs and received events; failed runs are kept longer. */
  WIRE_ENGINE_RETENTION_DAYS: z.coerce.number().int().min(1).default(7),
  WIRE_ENGINE_FAILED_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  /** Local key-encryption-key file for sealed connector credentials; default WIRE_DATA_DIR/secrets/kek.json. */
  WIRE_KEK_FILE: optionalString,
  /** When set, connector credentials are wrapped by this AWS KMS key (id, ARN or alias) instead of the key file. */
  WIRE_KMS_AWS_KEY_ID: optionalString,
  /** Region of WIRE_KMS_AWS_KEY_ID; defaults to the region in its ARN, then the AWS SDK's own lookup. */
  WIRE_KMS_AWS_REGION: optionalString,
  /**
   * S3 endpoints that resolve to loopback, private, link-local or CGNAT addresses are refused (SSRF guard)
   * unless this is true: needed for a local MinIO/s3rver and for tests. Metadata and container-credential
   * addresses (METADATA_ADDRESSES in server/s3/endpoint-guard.ts) stay refused.
   */
  WIRE_ALLOW_PRIVATE_ENDPOINTS: z.stringbool({ error: 'must be "true" or "false"' }).default(false),
  /**
   * OpenAI-compatible embeddings endpoint (base URL, e.g. https://api.openai.com/v1; Wire POSTs to
   * <url>/embeddings). Used only when WIRE_EMBEDDINGS_MODEL is set too; otherwise the deterministic local
   * embedder runs (no network, no model download).
   */
  WIRE_EMBEDDINGS_URL: z.url({ protocol: /^https?$/ }).optional(),
  WIRE_EMBEDDINGS_MODEL: optionalString,
  /** Sent as a Bearer token; optional for endpoints without auth (a local server). */
  WIRE_EMBEDDINGS_API_KEY: optionalString,
  /** When set, sent as `dimensions` (models that support shortening) and every returned vector is checked against it. */
  WIRE_EMBEDDINGS_DIMENSIONS: z.coerce.number().int().min(1).max(65536).optional(),
  WIRE_EMBEDDINGS_TIMEOUT_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Sources: how often each is synced, and the most objects one sync run looks at. */
  WIRE_SYNC_INTERVAL_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  WIRE_SYNC_MAX_OBJECTS: z.coerce.number().int().min(1).default(100_000),
  /** Objects larger than this are listed as too large and never downloaded; unset: the upload limit. */
  WIRE_MAX_FILE_BYTES: z.coerce.number().int().positive().optional(),
  /** Stored copies in an S3 bucket of Wire's own instead of WIRE_DATA_DIR/blobs (credentials: these, or the AWS default chain). */
  WIRE_BLOB_S3_BUCKET: optionalString,
  WIRE_BLOB_S3_PREFIX: optionalString,
  WIRE_BLOB_S3_ENDPOINT: z.url().optional(),
  WIRE_BLOB_S3_REGION: z.string().min(1).default("us-east-1"),
  WIRE_BLOB_S3_ACCESS_KEY_ID: optionalString,
  WIRE_BLOB_S3_SECRET_ACCESS_KEY: optionalString,
  INNGEST_DEV: optionalString,
  INNGEST_BASE_URL: optionalString,
  INNGEST_EVENT_KEY: optionalString,
  INNGEST_SIGNING_KEY: optionalString,
});

export type Env = z.infer<typeof schema> & { dataDir: string };

function load(source: Record<string, string | undefined>): Env {
  // Empty strings in .env files mean "unset", not "set to nothing".
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.WIRE_DATA_DIR) };
}

let cached: Env | undefined;

/** Validated configuration, read once per process. */
export function env(): Env {
  cached ??= load(process.env);
  return cached;
}

/** For tests that need to check validation itself. */
export const parseEnv = load;
