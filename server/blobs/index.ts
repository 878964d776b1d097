/**
 * Stored copies of files. The local store keeps them under WIRE_DATA_DIR/blobs; a store of Wire's own in
 * S3 plugs in behind the same interface.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { env } from "@/server/env";

export interface BlobStore {
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** Deleting a missing blob is not an error: deletes are retried and must be idempotent. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Deletes every blob whose key starts with `prefix` (which ends in "/"); idempotent like delete. */
  deletePrefix(prefix: string): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]*$/;

export class LocalBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    if (!SAFE_KEY.test(key) || key.split("/").includes("..")) throw new Error(`Invalid blob key: ${key}`);
    return path.join(this.root, key);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    // Write aside then rename, so a reader never sees half a file and a crash leaves no torn copy.
    const temp = `${target}.${randomUUID()}.tmp`;
    await fs.writeFile(temp, body);
    await fs.rename(temp, target);
  }

  async get(key: string): Promise<Buffer> {
    return fs.readFile(this.pathOf(key));
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
  store ??= new LocalBlobStore(path.join(env().dataDir, "blobs"));
  return store;
}
