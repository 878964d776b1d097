/** The blob store in an S3 bucket of Wire's own (not a customer's: this one Wire writes to). */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import fs from "node:fs";
import type { Readable } from "node:stream";
import type { BlobStore } from "./index";
import { SpooledFile, StreamedBody, type BlobBody } from "./spooled";
import { assertBlobKey } from "./keys";
import { defined } from "@/server/defined";

export interface S3BlobStoreConfig {
  bucket: string;
  /** Prepended to every key, e.g. "wire/". */
  prefix: string;
  endpoint: string | null;
  region: string;
  /** Omitted: the AWS SDK's default credential chain (instance role, environment, profile). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The same shape as the local store's missing file, so callers need not know which store they have. */
function missingCopy(key: string) {
  return Object.assign(new Error(`No stored copy at ${key}`), { code: "ENOENT" });
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null | undefined;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;

  constructor(private readonly config: S3BlobStoreConfig) {
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint ?? undefined,
      forcePathStyle: config.endpoint !== null,
      credentials: config.credentials,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  private keyOf(key: string): string {
    return this.config.prefix + assertBlobKey(key);
  }

  async put(key: string, body: BlobBody): Promise<void> {
    // Spooled and streamed bodies go as streams of their known length, never read into memory.
    const payload =
      body instanceof SpooledFile
        ? { Body: fs.createReadStream(body.path), ContentLength: body.size }
        : body instanceof StreamedBody
          ? { Body: body.stream, ContentLength: body.size }
          : { Body: body };
    await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(key), ...payload }));
  }

  async get(key: string, options: { firstBytes?: number } = {}): Promise<Buffer> {
    const { firstBytes } = options;
    if (firstBytes === 0) {
      // Nothing to read: only whether the copy is there (extraction reads nothing of an image or an archive).
      if (!(await this.exists(key))) throw missingCopy(key);
      return Buffer.alloc(0);
    }
    // A range asks for no more than is read, and leaves the connection fit for the next request.
    const range = firstBytes === undefined ? undefined : `bytes=0-${firstBytes - 1}`;
    try {
      const { stream } = await this.read(key, range);
      return Buffer.concat(await stream.toArray());
    } catch (error) {
      // An empty copy has no first byte to give: S3 answers 416 (callers that know the size ask no range of one).
      if (range && (error as { name?: string }).name === "InvalidRange") return Buffer.alloc(0);
      throw error;
    }
  }

  open(key: string): Promise<{ stream: Readable; size: number }> {
    return this.read(key);
  }

  private async read(key: string, range?: string): Promise<{ stream: Readable; size: number }> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(key), Range: range }),
      );
      return {
        stream: defined(response.Body, `the body of blob ${key}`) as Readable,
        size: response.ContentLength ?? 0,
      };
    } catch (error) {
      if (isMissing(error)) throw missingCopy(key);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(key) }));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.keyOf(key) }));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith("/")) throw new Error(`Invalid blob prefix: ${prefix}`);
    const full = this.keyOf(prefix.slice(0, -1)) + "/";
    for (;;) {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: full, MaxKeys: 1000 }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
      if (!keys.length) return;
      await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: keys, Quiet: true } }),
      );
      if (!page.IsTruncated) return;
    }
  }
}
