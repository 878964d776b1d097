/**
 * The two operations a sync performs on a bucket: list one page under the source's prefix, and read one
 * listed object (pinned to the ETag it was listed with). Nothing else: no writes, no listing elsewhere.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";

export interface ListedObject {
  key: string;
  etag: string;
  size: number;
  lastModified: string | null;
}

export interface ListedPage {
  objects: ListedObject[];
  nextToken: string | null;
}

/** One page (≤ 1,000 keys) under `prefix`; zero-byte "folder/" markers are left out. */
export async function listPage(client: S3Client, params: { bucket: string; prefix: string; token: string | null; maxKeys?: number }): Promise<ListedPage> {
  const page = await client.send(
    new ListObjectsV2Command({
      Bucket: params.bucket,
      Prefix: params.prefix,
      ContinuationToken: params.token ?? undefined,
      MaxKeys: params.maxKeys ?? 1000,
    }),
  );
  const objects = (page.Contents ?? [])
    .filter((o) => o.Key && !(o.Key.endsWith("/") && (o.Size ?? 0) === 0))
    .map((o) => ({
      key: o.Key!,
      // ETags are opaque (multipart ones look like "<hex>-N"): compared exactly as listed.
      etag: o.ETag ?? "",
      size: o.Size ?? 0,
      lastModified: o.LastModified ? o.LastModified.toISOString() : null,
    }));
  return { objects, nextToken: page.IsTruncated ? (page.NextContinuationToken ?? null) : null };
}

/** Reads an object only if it still has the listed ETag; a mismatch (412) means it changed since the listing. */
export async function readObject(client: S3Client, params: { bucket: string; key: string; etag: string }): Promise<{ body: Uint8Array; contentType: string }> {
  const response = await client.send(new GetObjectCommand({ Bucket: params.bucket, Key: params.key, IfMatch: params.etag || undefined }));
  const body = await response.Body!.transformToByteArray();
  return { body, contentType: response.ContentType ?? "application/octet-stream" };
}

export function isChangedSinceListing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "PreconditionFailed" || e?.$metadata?.httpStatusCode === 412;
}

export function isMissingObject(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}
