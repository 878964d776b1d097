/** A request body written to a private temporary file while it was read, so memory stays flat whatever its size. */
import fs from "node:fs/promises";

export class SpooledFile {
  constructor(
    readonly path: string,
    readonly size: number,
  ) {}

  /** Removes the temporary file; safe to call more than once. */
  dispose(): Promise<void> {
    return fs.rm(this.path, { force: true });
  }
}

export type BlobBody = Uint8Array | SpooledFile;

export function bodySize(body: BlobBody): number {
  return body instanceof SpooledFile ? body.size : body.byteLength;
}
