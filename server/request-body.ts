/**
 * Request bodies read with their size limit counted as the bytes arrive: the body goes to a private temporary
 * file under WIRE_DATA_DIR/tmp, and reading stops at the first byte over the limit with a 413. Neither the
 * declared Content-Length nor the actual size can make the server hold a body in memory.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import busboy from "busboy";
import { SpooledFile } from "@/server/blobs/spooled";
import { env } from "@/server/env";
import { AppError } from "@/server/errors";

function tempPath(): string {
  const dir = path.join(env().dataDir, "tmp");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `upload-${randomUUID()}`);
}

export function tooLarge(maxBytes: number): AppError {
  return new AppError(
    "PAYLOAD_TOO_LARGE",
    `Files can be at most ${Math.round((maxBytes / 1024 / 1024) * 10) / 10} MB.`,
    "file",
  );
}

/** Counts bytes through and fails the pipeline at the first byte past `maxBytes`. */
function limiter(maxBytes: number, onSize: (size: number) => void): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(tooLarge(maxBytes));
        return;
      }
      onSize(size);
      done(null, chunk);
    },
  });
}

function webBody(request: Request): Readable {
  return request.body ? Readable.fromWeb(request.body as unknown as NodeWebStream<Uint8Array>) : Readable.from([]);
}

/** The whole body of `request` (the agent API's PUT) as a spooled file of at most `maxBytes`. */
export async function spoolRequestBody(request: Request, maxBytes: number): Promise<SpooledFile> {
  if (Number(request.headers.get("content-length") ?? 0) > maxBytes) throw tooLarge(maxBytes);
  const target = tempPath();
  let size = 0;
  try {
    await pipeline(
      webBody(request),
      limiter(maxBytes, (n) => (size = n)),
      fs.createWriteStream(target, { mode: 0o600 }),
    );
  } catch (error) {
    await fs.promises.rm(target, { force: true });
    throw error instanceof AppError
      ? error
      : new AppError("BAD_REQUEST", "The request body could not be read.", "file");
  }
  return new SpooledFile(target, size);
}

export interface SpooledUpload {
  name: string;
  contentType: string;
  file: SpooledFile;
}

/**
 * The `file` parts of a multipart/form-data upload, each spooled with its own limit of `maxBytes`, at most
 * `maxFiles` of them. On any failure every spooled file is removed and reading stops.
 */
export async function spoolMultipartFiles(
  request: Request,
  options: { maxBytes: number; maxFiles: number },
): Promise<SpooledUpload[]> {
  const invalid = () => new AppError("BAD_REQUEST", "Send the files as multipart/form-data.", "file");
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": request.headers.get("content-type") ?? "" },
      // File names may name folders ("minutes/notes.docx"); busboy would keep only the last segment.
      preservePath: true,
      limits: { fileSize: options.maxBytes, files: options.maxFiles, fields: 20, fieldSize: 1024 },
    });
  } catch {
    throw invalid();
  }
  const source = webBody(request);
  const uploads: SpooledUpload[] = [];
  const writes: Promise<void>[] = [];
  const paths: string[] = [];
  const streams = new Set<Readable>();

  const parsed = new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (error: AppError) => {
      if (failed) return;
      failed = true;
      source.unpipe(parser);
      source.destroy();
      for (const stream of streams) stream.destroy();
      reject(error);
    };
    parser.on("file", (field, stream, info) => {
      if (field !== "file") return void stream.resume();
      const target = tempPath();
      paths.push(target);
      streams.add(stream);
      let size = 0;
      stream.on("limit", () => fail(tooLarge(options.maxBytes)));
      stream.on("data", (chunk: Buffer) => (size += chunk.length));
      writes.push(
        pipeline(stream, fs.createWriteStream(target, { mode: 0o600 })).then(
          () =>
            void uploads.push({
              name: info.filename ?? "",
              contentType: info.mimeType,
              file: new SpooledFile(target, size),
            }),
          () => fail(invalid()),
        ),
      );
    });
    parser.on("filesLimit", () =>
      fail(new AppError("PAYLOAD_TOO_LARGE", `Upload at most ${options.maxFiles} files at once.`, "file")),
    );
    parser.on("error", () => fail(invalid()));
    parser.on("close", () => void Promise.all(writes).then(() => (failed ? undefined : resolve())));
    source.on("error", () => fail(invalid()));
    source.pipe(parser);
  });

  try {
    await parsed;
    // Parts keep the order they were sent in.
    return paths.flatMap((p) => uploads.filter((u) => u.file.path === p));
  } catch (error) {
    await Promise.allSettled(writes);
    await Promise.all(paths.map((p) => fs.promises.rm(p, { force: true })));
    throw error;
  }
}
