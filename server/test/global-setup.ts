/**
 * One real PostgreSQL for the whole run: TEST_DATABASE_URL when set, otherwise a throwaway embedded
 * cluster in a temporary directory on a free port. Migrations are applied once here.
 * One real S3 HTTP server (s3rver, a child process) with the bucket S3_TEST_BUCKET and S3_TEST_OBJECTS.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "@/db/embedded";
import { migrateDatabase } from "@/db/migrate";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    dataDir: string;
    /** Origin of the test s3rver, e.g. "http://127.0.0.1:41234" (credentials S3RVER / S3RVER, region us-east-1). */
    s3Endpoint: string;
    /** A bucket on s3Endpoint holding S3_TEST_OBJECTS; read it, don't change it (files run in parallel). */
    s3Bucket: string;
    /** Keys of the objects in s3Bucket. */
    s3Keys: string[];
  }
}

export const S3_TEST_BUCKET = "wire-test";
export const S3_TEST_OBJECTS: { key: string; body: string }[] = [
  { key: "reports/2026/q1.txt", body: "Q1 2026: revenue grew 12%." },
  { key: "reports/2026/q2.txt", body: "Q2 2026: revenue grew 9%." },
  { key: "reports/2025/summary.txt", body: "2025 in one line." },
  { key: "other/notes.txt", body: "Not under reports/." },
  { key: "readme.txt", body: "At the bucket root." },
];

/** Starts server/test/s3rver.mjs with the legacy OpenSSL provider; resolves once its fixtures are stored. */
export async function startS3rver(
  directory: string,
  fixtures: { buckets: string[]; objects: { bucket: string; key: string; body: string }[] } = {
    buckets: [S3_TEST_BUCKET],
    objects: S3_TEST_OBJECTS.map((o) => ({ bucket: S3_TEST_BUCKET, ...o })),
  },
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const config = { directory, ...fixtures };
  const child = spawn(process.execPath, [path.join(import.meta.dirname, "s3rver.mjs"), JSON.stringify(config)], {
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --openssl-legacy-provider`.trim(),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 30 s\n${stderr}`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code} before it was ready\n${stderr}`));
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export default async function setup(project: TestProject) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-test-"));
  fs.chmodSync(dataDir, 0o755);
  // Test workers inherit this process's environment. This machine sets AWS_CA_BUNDLE (tools such as rclone
  // fail on it); S3 tests must not depend on it. Tests reach s3rver on 127.0.0.1, so the SSRF guard must allow
  // private endpoints by default here; the guard's own tests pass allowPrivateEndpoints explicitly.
  delete process.env.AWS_CA_BUNDLE;
  process.env.WIRE_ALLOW_PRIVATE_ENDPOINTS ??= "true";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-test-s3rver-"));
  const s3 = startS3rver(s3Dir);
  s3.catch(() => {}); // awaited below; avoid an unhandled rejection while Postgres starts
  let url = process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const port = await freePort();
    const password = randomBytes(12).toString("hex");
    ({ stop } = await startEmbeddedPostgres({ dataDir, port, password, database: "wire_test" }));
    url = `postgres://postgres:${password}@127.0.0.1:${port}/wire_test`;
  }
  await migrateDatabase(url);
  const { endpoint: s3Endpoint, stop: stopS3 } = await s3.catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  project.provide("databaseUrl", url);
  project.provide("dataDir", dataDir);
  project.provide("s3Endpoint", s3Endpoint);
  project.provide("s3Bucket", S3_TEST_BUCKET);
  project.provide(
    "s3Keys",
    S3_TEST_OBJECTS.map((o) => o.key),
  );
  return async () => {
    await stopS3();
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(s3Dir, { recursive: true, force: true });
  };
}
