/**
 * What a user can do about a source's Error, by cause. The server stores the reason as text (built from the
 * templates in server/s3/errors.ts, or a raw network error), so the cause is recognised from that text; the
 * reason itself is always shown as stored, and unknown reasons get the generic advice.
 */
export type ErrorCause =
  | "bucket_missing"
  | "credentials"
  | "access_denied"
  | "region"
  | "unreachable"
  | "provider"
  | "empty_listing"
  | "not_queued"
  | "other";

const PATTERNS: [ErrorCause, RegExp][] = [
  ["bucket_missing", /does not exist at|is not a valid bucket name|NoSuchBucket/i],
  ["empty_listing", /listing came back empty/i],
  ["not_queued", /could not be queued/i],
  ["region", /\bregion\b/i],
  [
    "unreachable",
    /could not be reached|could not be found|closed the connection|did not answer in time|TLS|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|timed? ?out|socket hang up/i,
  ],
  ["access_denied", /may not (read|list)|AccessDenied/i],
  [
    "credentials",
    /access key|secret access key|session token|credentials|authorization header|SignatureDoesNotMatch|InvalidAccessKeyId|ExpiredToken/i,
  ],
  ["provider", /internal error|HTTP 5\d\d/i],
];

export function errorCause(reason: string | null): ErrorCause {
  if (!reason) return "other";
  return PATTERNS.find(([, pattern]) => pattern.test(reason))?.[0] ?? "other";
}

const ADVICE: Record<ErrorCause, string> = {
  bucket_missing:
    "The bucket is gone or was renamed. Recreate it, or detach this source and attach the bucket's new name; then press Sync now.",
  credentials:
    "The connector's credentials stopped working. An Owner or Admin re-tests or replaces them under Organization → Connectors; then press Sync now.",
  access_denied:
    "The credentials work but may not read this bucket or prefix. Allow s3:ListBucket for the prefix and s3:GetObject on its objects in the key's policy; then press Sync now.",
  region:
    "The connector's region or endpoint does not match the bucket. An Owner or Admin corrects it under Organization → Connectors; then press Sync now.",
  unreachable:
    "Wire could not reach the storage service. Check that it is running and reachable from Wire (host, port, firewall); Wire tries again on its schedule, or press Sync now once it is back.",
  provider: "The storage service had a problem of its own. Press Sync now in a few minutes.",
  empty_listing:
    "Nothing was removed. If the objects were moved on purpose, detach this source; if not, restore them and press Sync now.",
  not_queued: "Press Sync now to try again.",
  other: "Fix the cause, then press Sync now.",
};

export function errorAdvice(reason: string | null): string {
  return ADVICE[errorCause(reason)];
}
