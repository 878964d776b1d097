/**
 * Bodies the blob store takes besides bytes in memory, so memory stays flat whatever their size: a request
 * body spooled to a private temporary file, and a body arriving as a stream (an S3 object being downloaded).
 */
import fs from "node:fs/promises";
import type { Readable } from "node:stream";

/** A request body written to a private temporary file while it was read. */
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

/** A body read once, as it arrives, of a length known up front (an S3 PutObject needs it). */
export class StreamedBody {
  constructor(
    readonly stream: Readable,
    readonly size: number,
  ) {
    // Until the store reads it, an error the stream meets (a dropped connection) would have no listener and
    // crash the process. The stream keeps the error; whoever reads it (a pipeline) gets it then.
    stream.on("error", () => {});
  }
}

export type BlobBody = Uint8Array | SpooledFile | StreamedBody;

export function bodySize(body: BlobBody): number {
  return body instanceof SpooledFile || body instanceof StreamedBody ? body.size : body.byteLength;
}
