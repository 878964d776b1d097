/**
 * Input schemas for S3 / S3-compatible connection settings. Every message says what to fix, because they are
 * shown next to the form field that failed.
 */
import { z } from "zod";
import { textProblem } from "@/server/schemas";

export const DEFAULT_REGION = "us-east-1";

const IPV4_LIKE = /^\d{1,3}(\.\d{1,3}){3}$/;
const RESERVED_BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/** Why `name` is not a usable bucket name, or null when it is (AWS general purpose bucket naming rules). */
export function bucketNameProblem(name: string): string | null {
  if (name.length === 0) return "Enter a bucket name.";
  if (name.length < 3 || name.length > 63) return "Bucket names are 3 to 63 characters long.";
  if (/[A-Z]/.test(name)) return "Bucket names use lowercase letters only.";
  if (!/^[a-z0-9.-]+$/.test(name)) {
    return "Bucket names may contain only lowercase letters, digits, dots (.) and hyphens (-).";
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return "Bucket names must begin and end with a letter or digit.";
  }
  if (name.includes("..")) return "Bucket names must not contain two dots in a row.";
  if (IPV4_LIKE.test(name)) return "Bucket names must not look like an IP address.";
  const prefix = RESERVED_BUCKET_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `Bucket names must not start with "${prefix}" (reserved by S3).`;
  const suffix = RESERVED_BUCKET_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `Bucket names must not end with "${suffix}" (reserved by S3).`;
  return null;
}

/** A bucket name (surrounding spaces from copy-paste are dropped; nothing else is changed). */
export const bucketNameSchema = z
  .string({ error: "Enter a bucket name." })
  .trim()
  .superRefine((name, ctx) => {
    const problem = bucketNameProblem(name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/**
 * A key prefix, kept exactly as typed ("reports/2026/" and "reports/2026" are different prefixes in S3).
 * Empty or missing means the whole bucket.
 */
export const prefixSchema = z
  .string({ error: "The prefix must be text." })
  .refine((p) => !p.startsWith("/"), {
    error: 'Prefixes do not start with "/": S3 keys have no leading slash (use "reports/", not "/reports/").',
  })
  // eslint-disable-next-line no-control-regex -- finding control characters is the point of this check
  .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), {
    error: "The prefix contains a control character (a line break or tab?). Remove it.",
  })
  .refine((p) => Buffer.byteLength(p, "utf8") <= 1024, {
    error: "The prefix is longer than 1,024 bytes, the longest key S3 allows.",
  })
  .nullish()
  .transform((p) => p ?? undefined);

/**
 * A region name: us-east-1, eu-central-1, us-west-002 (Backblaze), auto (Cloudflare R2), nyc3 (Spaces)...
 * Empty or missing means us-east-1. Uppercase is lowercased.
 */
export const regionSchema = z
  .string({ error: "The region must be text." })
  .trim()
  .toLowerCase()
  .max(64, "Region names are at most 64 characters.")
  .regex(/^([a-z0-9]+(-[a-z0-9]+)*)?$/, {
    error: "Region names use lowercase letters, digits and single hyphens, e.g. us-east-1 or auto.",
  })
  .nullish()
  .transform((r) => r || DEFAULT_REGION);

/** Why `input` is not a usable endpoint, or its normalized origin ("https://host[:port]"). */
export function normalizeEndpoint(input: string): { origin: string } | { problem: string } {
  const text = input.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme && scheme !== "http" && scheme !== "https") {
    return { problem: `The endpoint must use http:// or https://, not ${scheme}://.` };
  }
  let url: URL;
  try {
    url = new URL(scheme ? text : `https://${text}`);
  } catch {
    return {
      problem: "Enter the endpoint as a host name (s3.example.com), host:port, or an http(s):// URL.",
    };
  }
  if (url.username || url.password) {
    return {
      problem: "Remove the user name and password from the endpoint: enter the keys in their own fields.",
    };
  }
  if (url.pathname !== "/" && url.pathname !== "") {
    return {
      problem: `The endpoint must not include a path ("${url.pathname}"). Enter only the host, e.g. ${url.host}; put the bucket in the bucket field.`,
    };
  }
  if (url.search || url.hash || text.endsWith("?") || text.endsWith("#")) {
    return { problem: "The endpoint must not include a query (?…) or fragment (#…)." };
  }
  if (!url.hostname) return { problem: "The endpoint needs a host name." };
  return { origin: url.origin };
}

/**
 * Optional custom endpoint: a host, host:port or http(s) URL without path, query or credentials.
 * Normalized to an origin URL string (https when no scheme is given); empty or missing means AWS S3 (null).
 */
export const endpointSchema = z
  .string({ error: "The endpoint must be text." })
  // Checked before URL parsing, which silently drops tabs and line breaks inside a host name.
  .refine((e) => !textProblem(e, "line"), {
    error: "The endpoint contains a control character (a line break or tab?). Remove it.",
    abort: true,
  })
  .trim()
  .max(2048, "The endpoint is too long.")
  .transform((value, ctx) => {
    if (value === "") return null;
    const result = normalizeEndpoint(value);
    if ("problem" in result) {
      ctx.addIssue({ code: "custom", message: result.problem });
      return z.NEVER;
    }
    return result.origin;
  })
  .nullish()
  .transform((e) => e ?? null);

/**
 * Access key IDs: AWS (AKIA…/ASIA…, 20 chars), Cloudflare R2 (32 hex), Backblaze B2 key IDs (25 chars),
 * MinIO users (from 3 chars, e.g. "minioadmin") and s3rver's "S3RVER". No "/" (it would break the SigV4
 * credential scope) and no spaces.
 */
export const accessKeyIdSchema = z
  .string({ error: "Enter the access key ID." })
  .trim()
  .min(1, "Enter the access key ID.")
  .min(3, "The access key ID is too short: check that it was copied whole.")
  .max(128, "The access key ID is longer than 128 characters: is this the secret access key?")
  .regex(/^[A-Za-z0-9._+=@-]+$/, {
    error: "Access key IDs contain only letters, digits and . _ + = @ -: check that it was copied whole.",
  });

export const secretAccessKeySchema = z
  .string({ error: "Enter the secret access key." })
  .trim()
  .min(1, "Enter the secret access key.")
  .max(256, "The secret access key is longer than 256 characters: check what was pasted.")
  // eslint-disable-next-line no-control-regex -- finding control characters is the point of this check
  .refine((s) => !/[\s\u0000-\u001f\u007f-\u009f]/.test(s), {
    error: "The secret access key must not contain spaces, line breaks or control characters.",
  });

/** STS session token for temporary credentials. Empty or missing means none. */
export const sessionTokenSchema = z
  .string({ error: "The session token must be text." })
  .trim()
  .max(4096, "The session token is longer than 4,096 characters: check what was pasted.")
  // eslint-disable-next-line no-control-regex -- finding control characters is the point of this check
  .refine((s) => !/[\s\u0000-\u001f\u007f-\u009f]/.test(s), {
    error: "The session token must not contain spaces, line breaks or control characters.",
  })
  .nullish()
  .transform((t) => t || undefined);

/** Everything needed to reach a bucket's storage, as entered in the connector form. */
export const s3ConnectionSchema = z.object({
  endpoint: endpointSchema,
  region: regionSchema,
  accessKeyId: accessKeyIdSchema,
  secretAccessKey: secretAccessKeySchema,
  sessionToken: sessionTokenSchema,
});
export type S3ConnectionInput = z.input<typeof s3ConnectionSchema>;
export type S3Connection = z.output<typeof s3ConnectionSchema>;
