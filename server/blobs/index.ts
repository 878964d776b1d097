/**
 * Stored copies of files. The local store keeps them under WIRE_DATA_DIR/blobs; with WIRE_BLOB_S3_BUCKET set
 * they go to an S3 bucket of Wire's own (server/blobs/s3.ts) behind the same interface.
 */
import "server-only";
import { constants as fsConstants } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { env } from "@/server/env";
import { assertBlobKey } from "./keys";
import { S3BlobStore } from "./s3";
import { SpooledFile, StreamedBody, type BlobBody } from "./spooled";

export { SpooledFile, StreamedBody, bodySize, type BlobBody } from "./spooled";

export interface BlobStore {
  /** Stores a copy under a fresh key (callers never put one key twice; the local store refuses to). */
  put(key: string, body: BlobBody): Promise<void>;
  /** The copy's bytes; with `firstBytes`, no more than that many from its start (what extraction needs). */
  get(key: string, options?: { firstBytes?: number }): Promise<Buffer>;
  /** The copy as a stream, to pass on without holding it (a download); a missing copy fails as get does. */
  open(key: string): Promise<{ stream: Readable; size: number }>;
  /** Deleting a missing blob is not an error: deletes are retried and must be idempotent. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes every blob whose key starts with `prefix` (which ends in "/"); idempotent like delete. */
  deletePrefix(prefix: string): Promise<void>;
}

export class LocalBlobStore implements BlobStore {
  /** Directories this store made: a backfill puts thousands of copies into one container's directory. */
  private readonly made = new Set<string>();

  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    return path.join(this.root, assertBlobKey(key));
  }

  async put(key: string, body: BlobBody): Promise<void> {
    const target = this.pathOf(key);
    const directory = path.dirname(target);
    // Written in place, never over an existing copy: keys are fresh and noted in the blob ledger before the
    // write, and no file row names one until it is whole, so a torn copy (a crash mid-write) is never read
    // and reconcile deletes it. Writing aside and renaming cost a backfill a rename per object.
    const write = async () => {
      if (body instanceof SpooledFile) {
        await fs.copyFile(body.path, target, fsConstants.COPYFILE_EXCL);
        await fs.chmod(target, 0o600);
      } else if (body instanceof StreamedBody) {
        // Opened first: a missing directory fails here, before any of the stream is read, so it can be retried.
        const handle = await fs.open(target, "wx", 0o600);
        await pipeline(body.stream, handle.createWriteStream());
      } else {
        await fs.writeFile(target, body, { mode: 0o600, flag: "wx" });
      }
    };
    if (!this.made.has(directory)) await this.makeDirectory(directory);
    try {
      await write().catch(async (error: unknown) => {
        // The directory went since (a container's copies deleted by prefix): make it again, once.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        await this.makeDirectory(directory);
        await write();
      });
    } catch (error) {
      // A copy we started (not one that was there: wx refused it) goes, rather than wait for reconcile.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") await fs.rm(target, { force: true });
      throw error;
    }
  }

  private async makeDirectory(directory: string) {
    // Stored copies are private to the app's user: directories 0700, files 0600.
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    this.made.add(directory);
  }

  async get(key: string, options: { firstBytes?: number } = {}): Promise<Buffer> {
    if (options.firstBytes === undefined) return fs.readFile(this.pathOf(key));
    const handle = await fs.open(this.pathOf(key), "r");
    try {
      const buffer = Buffer.alloc(Math.min(options.firstBytes, (await handle.stat()).size));
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async open(key: string): Promise<{ stream: Readable; size: number }> {
    const handle = await fs.open(this.pathOf(key), "r");
    try {
      return { stream: handle.createReadStream(), size: (await handle.stat()).size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith("/")) throw new Error(`Invalid blob prefix: ${prefix}`);
    await fs.rm(this.pathOf(prefix.slice(0, -1)), { recursive: true, force: true });
  }

  async exists(key: string): Promise<boolean> {
    return fs.access(this.pathOf(key)).then(
      () => true,
      () => false,
    );
  }
}

let store: BlobStore | undefined;

export function blobStore(): BlobStore {
  const config = env();
  store ??= config.WIRE_BLOB_S3_BUCKET
    ? new S3BlobStore({
        bucket: config.WIRE_BLOB_S3_BUCKET,
        prefix: config.WIRE_BLOB_S3_PREFIX ?? "",
        endpoint: config.WIRE_BLOB_S3_ENDPOINT ?? null,
        region: config.WIRE_BLOB_S3_REGION,
        credentials:
          config.WIRE_BLOB_S3_ACCESS_KEY_ID && config.WIRE_BLOB_S3_SECRET_ACCESS_KEY
            ? { accessKeyId: config.WIRE_BLOB_S3_ACCESS_KEY_ID, secretAccessKey: config.WIRE_BLOB_S3_SECRET_ACCESS_KEY }
            : undefined,
      })
    : new LocalBlobStore(path.join(config.dataDir, "blobs"));
  return store;
}
