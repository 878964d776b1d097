/**
 * A real S3 HTTP server (s3rver) for the test suite, run as a child process by global-setup.ts with
 * NODE_OPTIONS=--openssl-legacy-provider (without it every truncated ListObjectsV2 is a 500).
 *
 * Usage: node s3rver.mjs '<json: { directory, port?, buckets: string[], objects: { bucket, key, body }[],
 *   generate?: { bucket, prefix, count, body }[], watchStdin? }>'  (generate: many objects without a huge argument)
 * Prints one JSON line {"port": N} on stdout once the buckets exist and the objects are stored, then serves
 * until SIGTERM/SIGINT or, unless watchStdin is false, until its stdin closes (the parent went away).
 * The Playwright config starts it too, on a fixed port for the e2e app.
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

const config = JSON.parse(process.argv[2] ?? "{}");
const server = new S3rver({
  port: config.port ?? 0,
  address: "127.0.0.1",
  directory: config.directory,
  silent: true,
  // Wire always uses path-style; without this, any Host that is not an IP or "localhost" is taken as a bucket.
  vhostBuckets: false,
  configureBuckets: (config.buckets ?? []).map((name) => ({ name })),
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try {
    await server.close();
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
if (config.watchStdin !== false) {
  process.stdin.on("end", () => void stop());
  process.stdin.on("close", () => void stop());
  process.stdin.resume();
}

try {
  const { port } = await server.run();
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  for (const { bucket, key, body } of config.objects ?? []) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  for (const { bucket, prefix, count, body } of config.generate ?? []) {
    const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(5, "0")}.txt`);
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(
        keys
          .slice(i, i + 16)
          .map((key, j) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${body} ${i + j}` }))),
      );
    }
  }
  client.destroy();
  process.stdout.write(`${JSON.stringify({ port })}\n`);
} catch (error) {
  process.stderr.write(`s3rver failed to start: ${error?.stack ?? error}\n`);
  await stop(1);
}
