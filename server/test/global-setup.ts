/**
 * One real PostgreSQL for the whole run: TEST_DATABASE_URL when set, otherwise a throwaway embedded
 * cluster in a temporary directory on a free port. Migrations are applied once here.
 */
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
  }
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
  let url = process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const port = await freePort();
    const password = randomBytes(12).toString("hex");
    ({ stop } = await startEmbeddedPostgres({ dataDir, port, password, database: "wire_test" }));
    url = `postgres://postgres:${password}@127.0.0.1:${port}/wire_test`;
  }
  await migrateDatabase(url);
  project.provide("databaseUrl", url);
  project.provide("dataDir", dataDir);
  return async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
