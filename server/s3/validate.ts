/**
 * Checks that credentials can read a bucket (and prefix) with the two read-only calls Wire allows itself for
 * this: HeadBucket, then ListObjectsV2 { Prefix, MaxKeys: 1 }. Never ListBuckets, never a write. With a
 * prefix, the listing stays under it: credentials limited to that prefix validate without a root listing.
 */
import { HeadBucketCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client, type CreateS3ClientOptions, type S3ClientSettings } from "@/server/s3/client";
import { mapS3Error, S3AccessError, type S3ErrorContext } from "@/server/s3/errors";
import { normalizeEndpoint } from "@/server/s3/inputs";

export interface BucketAccessParams {
  bucket: string;
  prefix?: string;
  region: string;
  endpoint?: string | null;
}

/**
 * Resolves when `client` can list `bucket` under `prefix`; throws S3AccessError otherwise.
 *
 * HeadBucket answers without a body, so a 403 there cannot tell "no s3:ListBucket" from "bad key", and a policy
 * that allows s3:ListBucket only with an s3:prefix condition (the documented minimal policy) refuses HeadBucket
 * outright. A bodiless 403/400 from HeadBucket is therefore not the verdict: the prefix listing decides, and its
 * error (with a body: InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken, AccessDenied...) is reported.
 *
 * Without a prefix the listing is the bucket root. AccessDenied there proves the key and signature are good
 * (those fail with their own codes) but not that the credentials are useless: they may be limited to a
 * prefix. That is `root_listing_denied`, on the prefix field, never "invalid credentials".
 */
export async function checkBucketAccess(client: S3Client, params: BucketAccessParams): Promise<void> {
  const ctx: S3ErrorContext = {
    bucket: params.bucket,
    region: params.region,
    endpoint: params.endpoint ?? null,
    ...(params.prefix ? { prefix: params.prefix } : {}),
  };
  try {
    await client.send(new HeadBucketCommand({ Bucket: params.bucket }));
  } catch (error) {
    const mapped = mapS3Error(error, ctx);
    const inconclusive = mapped.kind === "access_denied" || (mapped.kind === "unknown" && isClientError(error));
    if (!inconclusive) throw mapped;
  }
  try {
    await client.send(new ListObjectsV2Command({ Bucket: params.bucket, Prefix: params.prefix ?? "", MaxKeys: 1 }));
  } catch (error) {
    const mapped = mapS3Error(error, ctx);
    if (mapped.kind === "access_denied" && !params.prefix) {
      throw new S3AccessError(
        "root_listing_denied",
        `These credentials may not list the whole bucket "${params.bucket}". If they are limited to a prefix (as Wire's minimal IAM policy is), enter that prefix.`,
        { field: "testPrefix", detail: mapped.detail },
      );
    }
    throw mapped;
  }
}

function isClientError(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return typeof status === "number" && status >= 400 && status < 500;
}

/**
 * createS3Client + checkBucketAccess: everything the connector form needs to know before storing credentials.
 * Every failure, including a refused endpoint, is an S3AccessError.
 */
export async function validateConnection(
  config: S3ClientSettings & { bucket: string; prefix?: string },
  options: CreateS3ClientOptions = {},
): Promise<void> {
  const normalized = config.endpoint?.trim() ? normalizeEndpoint(config.endpoint) : null;
  const ctx: S3ErrorContext = {
    bucket: config.bucket,
    region: config.region,
    endpoint: normalized ? ("origin" in normalized ? normalized.origin : (config.endpoint?.trim() ?? null)) : null,
    ...(config.prefix ? { prefix: config.prefix } : {}),
  };
  let client: S3Client;
  try {
    client = await createS3Client(config, options);
  } catch (error) {
    throw mapS3Error(error, ctx);
  }
  try {
    await checkBucketAccess(client, ctx);
  } finally {
    client.destroy();
  }
}
