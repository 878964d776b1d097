/**
 * Turns anything an S3 call can throw (service errors, network and TLS failures, timeouts, the endpoint guard)
 * into one S3AccessError with a kind, the form field to fix, and a message that says what to do.
 * Messages are built from our own templates plus bucket, prefix, region and endpoint: never from credentials,
 * and the raw SDK error (whose body can echo the access key ID) is not attached.
 */
import { EndpointNotAllowedError } from "@/server/s3/endpoint-guard";

export type S3ErrorKind =
  | "invalid_credentials"
  | "access_denied"
  /** AccessDenied listing the bucket root: the credentials may well work for a prefix. */
  | "root_listing_denied"
  | "bucket_not_found"
  | "wrong_region"
  | "endpoint_unreachable"
  | "tls_error"
  | "timeout"
  | "endpoint_not_allowed"
  | "unknown";

export type S3ErrorField =
  "accessKeyId" | "secretAccessKey" | "sessionToken" | "testBucket" | "testPrefix" | "region" | "endpoint";

export interface S3ErrorContext {
  bucket: string;
  region: string;
  endpoint?: string | null;
  prefix?: string;
}

/** What the provider said, safe to log: error code, HTTP status, request id. */
export interface S3ErrorDetail {
  code?: string;
  httpStatusCode?: number;
  requestId?: string;
}

export class S3AccessError extends Error {
  override name = "S3AccessError";
  readonly kind: S3ErrorKind;
  readonly field: S3ErrorField | null;
  /** The bucket's actual region, when the provider told us (wrong_region). */
  readonly bucketRegion?: string;
  readonly detail: S3ErrorDetail;

  constructor(
    kind: S3ErrorKind,
    message: string,
    options: { field?: S3ErrorField | null; bucketRegion?: string; detail?: S3ErrorDetail } = {},
  ) {
    super(message);
    this.kind = kind;
    this.field = options.field ?? null;
    if (options.bucketRegion) this.bucketRegion = options.bucketRegion;
    this.detail = options.detail ?? {};
  }
}

type Loose = Record<string, unknown> & {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
};

const asLoose = (e: unknown): Loose => (e && typeof e === "object" ? (e as Loose) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Node/system error codes along the error and its causes (SDK wraps some network errors). */
function systemCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = asLoose(current);
    const code = str(e.code);
    if (code) codes.push(code);
    if (Array.isArray(e.errors)) for (const inner of e.errors) codes.push(...systemCodes(inner)); // AggregateError
    current = e.cause;
  }
  return codes;
}

const UNREACHABLE_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_NODATA",
  "EAI_FAIL",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "ECONNRESET",
  "EPIPE",
  "EADDRNOTAVAIL",
]);
const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_NODATA", "EAI_FAIL"]);
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "ECONNABORTED", "UND_ERR_CONNECT_TIMEOUT"]);
const TLS_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "HOSTNAME_MISMATCH",
  "EPROTO",
]);
const isTlsCode = (code: string) => TLS_CODES.has(code) || /^(ERR_TLS_|ERR_SSL_|SSL_|CERT_)/.test(code);

function where(ctx: S3ErrorContext): string {
  return ctx.endpoint ? ctx.endpoint : `Amazon S3 (${ctx.region})`;
}

function bucketLabel(ctx: S3ErrorContext): string {
  return ctx.prefix ? `bucket "${ctx.bucket}" (prefix "${ctx.prefix}")` : `bucket "${ctx.bucket}"`;
}

function tlsMessage(code: string, ctx: S3ErrorContext): string {
  const target = where(ctx);
  switch (code) {
    case "CERT_HAS_EXPIRED":
      return `The TLS certificate of ${target} has expired. Renew the certificate on the server.`;
    case "CERT_NOT_YET_VALID":
      return `The TLS certificate of ${target} is not valid yet. Check the server's certificate and clock.`;
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
      return `The TLS certificate of ${target} is self-signed and not trusted. Use a certificate from a public CA.`;
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return `The TLS certificate of ${target} could not be verified (incomplete or untrusted chain). Serve the full certificate chain.`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
    case "HOSTNAME_MISMATCH":
      return `The TLS certificate of ${target} is for a different host name. Check the endpoint's host name.`;
    case "EPROTO":
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return `${target} did not answer with TLS. If it serves plain HTTP, start the endpoint with http://.`;
    default:
      return `A secure (TLS) connection to ${target} failed (${code}). Check the endpoint's certificate, or use http:// if it serves plain HTTP.`;
  }
}

function regionMessage(
  bucketRegion: string | undefined,
  ctx: S3ErrorContext,
): {
  message: string;
  field: S3ErrorField;
} {
  if (!bucketRegion) {
    return {
      message: `The bucket "${ctx.bucket}" is not in ${ctx.region}. Set the region to the bucket's region.`,
      field: "region",
    };
  }
  if (bucketRegion === ctx.region) {
    return {
      message: `The bucket is in ${bucketRegion}, but the endpoint ${ctx.endpoint ?? ""} serves another region. Use the endpoint for ${bucketRegion}, or leave the endpoint empty for Amazon S3.`,
      field: "endpoint",
    };
  }
  return {
    message: `The bucket is in ${bucketRegion}, not ${ctx.region}. Set the region to ${bucketRegion}.`,
    field: "region",
  };
}

/** Maps any error from an S3 call to an S3AccessError (returns S3AccessErrors unchanged). */
export function mapS3Error(error: unknown, ctx: S3ErrorContext): S3AccessError {
  if (error instanceof S3AccessError) return error;
  if (error instanceof EndpointNotAllowedError) {
    return new S3AccessError("endpoint_not_allowed", error.message, {
      field: "endpoint",
      detail: { code: error.code },
    });
  }

  const e = asLoose(error);
  const name = str(e.name);
  const serviceCode = str(e.Code) ?? (e.$metadata && name !== "Error" ? name : undefined);
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const headers = e.$response?.headers ?? {};
  const header = (h: string) =>
    str(headers[h]) ?? str(Object.entries(headers).find(([k]) => k.toLowerCase() === h)?.[1]);
  const detail: S3ErrorDetail = {
    ...(serviceCode ? { code: serviceCode } : {}),
    ...(status ? { httpStatusCode: status } : {}),
    ...(e.$metadata?.requestId ? { requestId: e.$metadata.requestId } : {}),
  };
  const make = (kind: S3ErrorKind, message: string, field: S3ErrorField | null, bucketRegion?: string) =>
    new S3AccessError(kind, message, { field, detail, ...(bucketRegion ? { bucketRegion } : {}) });
  const endpointField: S3ErrorField | null = ctx.endpoint ? "endpoint" : null;

  // Transport failures: no HTTP response at all.
  const codes = systemCodes(error);
  const tls = codes.find(isTlsCode);
  if (tls) return make("tls_error", tlsMessage(tls, ctx), "endpoint");
  if (
    name === "TimeoutError" ||
    serviceCode === "RequestTimeout" ||
    serviceCode === "RequestTimeoutException" ||
    codes.some((c) => TIMEOUT_CODES.has(c))
  ) {
    return make(
      "timeout",
      `${where(ctx)} did not answer in time. Check that the endpoint is reachable from Wire, then try again.`,
      endpointField,
    );
  }
  const unreachable = codes.find((c) => UNREACHABLE_CODES.has(c));
  if (unreachable && !status) {
    if (DNS_CODES.has(unreachable)) {
      return ctx.endpoint
        ? make(
            "endpoint_unreachable",
            `The host of ${ctx.endpoint} could not be found. Check the endpoint's spelling.`,
            "endpoint",
          )
        : make(
            "endpoint_unreachable",
            `Amazon S3 could not be reached in region "${ctx.region}". Check the region name.`,
            "region",
          );
    }
    return make(
      "endpoint_unreachable",
      `${where(ctx)} could not be reached (${unreachable}). Check the endpoint's host and port, and that the server is running.`,
      endpointField,
    );
  }

  // Wrong region: 301 PermanentRedirect, AuthorizationHeaderMalformed (body names Region), or a
  // x-amz-bucket-region header that disagrees with the configured region (HEAD responses have no body).
  const headerRegion = header("x-amz-bucket-region");
  const bodyRegion = str(e.Region);
  const bucketRegion = headerRegion ?? bodyRegion;
  if (
    status === 301 ||
    serviceCode === "PermanentRedirect" ||
    serviceCode === "AuthorizationHeaderMalformed" ||
    serviceCode === "IllegalLocationConstraintException" ||
    (status === 307 && serviceCode === "TemporaryRedirect") ||
    (bucketRegion && bucketRegion !== ctx.region && (status === 400 || status === 403))
  ) {
    if (serviceCode === "AuthorizationHeaderMalformed" && !bucketRegion) {
      return make(
        "invalid_credentials",
        "The storage service refused the request's authorization header. Check the access key ID and region.",
        "accessKeyId",
      );
    }
    const { message, field } = regionMessage(bucketRegion, ctx);
    return make("wrong_region", message, field, bucketRegion);
  }
  if (serviceCode === "InvalidRegionName" || serviceCode === "InvalidLocationConstraint") {
    return make(
      "wrong_region",
      `${where(ctx)} does not accept the region "${ctx.region}". Set the region the provider expects (Cloudflare R2: auto).`,
      "region",
    );
  }

  switch (serviceCode) {
    case "InvalidAccessKeyId":
    case "InvalidClientTokenId":
    case "UnrecognizedClientException":
    case "NotSignedUp":
    case "AccountProblem":
    case "InvalidSecurity":
      return make(
        "invalid_credentials",
        "The access key ID was not recognized. Check the access key ID, and that the key is active.",
        "accessKeyId",
      );
    case "SignatureDoesNotMatch":
      return make(
        "invalid_credentials",
        "The secret access key does not match the access key ID. Check the secret access key.",
        "secretAccessKey",
      );
    case "ExpiredToken":
    case "ExpiredTokenException":
    case "TokenRefreshRequired":
      return make(
        "invalid_credentials",
        "The session token has expired. Create new temporary credentials and enter them again.",
        "sessionToken",
      );
    case "InvalidToken":
    case "MissingSecurityHeader":
      return make(
        "invalid_credentials",
        "The session token is not valid for these credentials. Check the session token, or leave it empty for long-term keys.",
        "sessionToken",
      );
    case "RequestTimeTooSkewed":
      return make(
        "unknown",
        "The storage service refused the request because Wire's clock differs too much from the service's. Ask the operator to check the server time.",
        null,
      );
    case "NoSuchBucket":
    case "NotFound":
      return make(
        "bucket_not_found",
        `The bucket "${ctx.bucket}" does not exist at ${where(ctx)}. Check the bucket name${ctx.endpoint ? " and endpoint" : " and region"}.`,
        "testBucket",
      );
    case "InvalidBucketName":
      return make(
        "bucket_not_found",
        `"${ctx.bucket}" is not a valid bucket name for ${where(ctx)}. Check the bucket name.`,
        "testBucket",
      );
    case "AccessDenied":
    case "AllAccessDisabled":
    case "Forbidden":
      return accessDenied();
    case "Unauthorized":
      return make(
        "invalid_credentials",
        "The storage service did not accept these credentials. Check the access key ID and secret access key.",
        "accessKeyId",
      );
  }

  if (status === 401) {
    return make(
      "invalid_credentials",
      "The storage service did not accept these credentials. Check the access key ID and secret access key.",
      "accessKeyId",
    );
  }
  // HeadBucket answers 403 with no body: could be missing s3:ListBucket or bad credentials.
  if (status === 403) return accessDenied();
  if (status === 404) {
    return make(
      "bucket_not_found",
      `The bucket "${ctx.bucket}" does not exist at ${where(ctx)}. Check the bucket name${ctx.endpoint ? " and endpoint" : " and region"}.`,
      "testBucket",
    );
  }
  if (status && status >= 500) {
    return make(
      "unknown",
      `${where(ctx)} had an internal error (HTTP ${status}${serviceCode && serviceCode !== "Unknown" ? `, ${serviceCode}` : ""}). Try again later.`,
      null,
    );
  }
  if (unreachable) {
    return make(
      "endpoint_unreachable",
      `${where(ctx)} closed the connection (${unreachable}). Try again.`,
      endpointField,
    );
  }
  const said = [
    serviceCode && serviceCode !== "Unknown" ? serviceCode : undefined,
    status ? `HTTP ${status}` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
  return make(
    "unknown",
    said
      ? `The storage service refused the request (${said}).`
      : "The storage service could not be reached or answered unexpectedly.",
    null,
  );

  function accessDenied(): S3AccessError {
    return make(
      "access_denied",
      `These credentials may not read ${bucketLabel(ctx)}. Allow s3:ListBucket on the bucket${ctx.prefix ? " for this prefix" : ""} and s3:GetObject on its objects, or pick a bucket they can list.`,
      // Under a prefix, the prefix is what the policy has to allow (or what was mistyped).
      ctx.prefix ? "testPrefix" : "testBucket",
    );
  }
}
