/**
 * The two operations a sync performs on a bucket: list one page under the source's prefix, and read one
 * listed object (pinned to the ETag it was listed with). Nothing else: no writes, no listing elsewhere.
 */
import type { Readable } from "node:stream";
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

/**
 * One page (≤ 1,000 keys) under `prefix`; zero-byte "folder/" markers are left out. Keys come URL-encoded
 * (EncodingType=url) and are decoded here, so a key holding a character XML 1.0 cannot carry still lists.
 */
export async function listPage(
  client: S3Client,
  params: { bucket: string; prefix: string; token: string | null; maxKeys?: number; signal?: AbortSignal },
): Promise<ListedPage> {
  const page = await client.send(
    new ListObjectsV2Command({
      Bucket: params.bucket,
      Prefix: params.prefix,
      ContinuationToken: params.token ?? undefined,
      MaxKeys: params.maxKeys ?? 1000,
      EncodingType: "url",
    }),
    { abortSignal: params.signal },
  );
  const encoded = page.EncodingType === "url";
  const objects = (page.Contents ?? []).flatMap((o) => {
    const key = o.Key === undefined ? undefined : encoded ? decodeKey(o.Key) : o.Key;
    if (!key || (key.endsWith("/") && (o.Size ?? 0) === 0)) return [];
    return [
      {
        key,
        // ETags are opaque (multipart ones look like "<hex>-N"): compared exactly as listed.
        etag: o.ETag ?? "",
        size: o.Size ?? 0,
        lastModified: o.LastModified ? o.LastModified.toISOString() : null,
      },
    ];
  });
  return { objects, nextToken: page.IsTruncated ? (page.NextContinuationToken ?? null) : null };
}

/** S3's url encoding is form-style: "+" is a space. */
function decodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/**
 * Opens an object only if it still has the listed ETag (a mismatch, 412, means it changed since the listing):
 * its headers, and its body as a stream not yet read.
 */
export async function openObject(
  client: S3Client,
  params: { bucket: string; key: string; etag: string; signal?: AbortSignal },
): Promise<{ stream: Readable; size: number; contentType: string }> {
  const response = await client.send(
    new GetObjectCommand({ Bucket: params.bucket, Key: params.key, IfMatch: params.etag || undefined }),
    { abortSignal: params.signal },
  );
  return {
    stream: response.Body as Readable,
    size: response.ContentLength ?? 0,
    contentType: response.ContentType ?? "application/octet-stream",
  };
}

/**
 * Reads an object (as openObject) into memory. A body over `maxBytes` (by its Content-Length, or counted
 * while reading) is not read: body null.
 */
export async function readObject(
  client: S3Client,
  params: { bucket: string; key: string; etag: string; signal?: AbortSignal; maxBytes?: number },
): Promise<{ body: Uint8Array | null; size: number; contentType: string }> {
  const { stream, size: length, contentType } = await openObject(client, params);
  const maxBytes = params.maxBytes ?? Number.POSITIVE_INFINITY;
  if (length > maxBytes) {
    stream.destroy();
    return { body: null, size: length, contentType };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).byteLength;
    if (size > maxBytes) {
      stream.destroy();
      return { body: null, size, contentType };
    }
    chunks.push(chunk as Buffer);
  }
  return { body: Buffer.concat(chunks, size), size, contentType };
}

export function isChangedSinceListing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null | undefined;
  return e?.name === "PreconditionFailed" || e?.$metadata?.httpStatusCode === 412;
}

export function isMissingObject(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null | undefined;
  return e?.name === "NoSuchKey" || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Why this one object cannot be read, in words users can act on, when the failure is the object's own
 * (the rest of the sync goes on); null when it is not (credentials, the service, the network).
 */
export function objectReadProblem(error: unknown): string | null {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | null | undefined;
  const code = e?.Code ?? e?.name;
  switch (code) {
    case "AccessDenied":
      return "The connector's credentials may not read this object (access denied). Check the bucket policy, the object's permissions or its KMS key.";
    case "InvalidObjectState":
      return "This object is in an archived storage class (e.g. Glacier) and must be restored before Wire can read it.";
    case "NoSuchKey":
      return "The object was removed from the bucket while it was being read.";
  }
  if (
    e?.$metadata?.httpStatusCode === 403 &&
    code !== "InvalidAccessKeyId" &&
    code !== "SignatureDoesNotMatch" &&
    code !== "ExpiredToken"
  ) {
    return "The connector's credentials may not read this object (access denied). Check the bucket policy, the object's permissions or its KMS key.";
  }
  return null;
}
