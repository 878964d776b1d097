/**
 * Benchmark of a source backfill: N objects (default 10,000) in a real S3 server (s3rver), synced into a
 * container through the app's real functions and the embedded engine, with processing (extract, split,
 * embed) and a throwaway embedded PostgreSQL. Then an incremental sync with nothing changed.
 *   npm run bench:backfill [-- --objects 10000]
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { s3AdminClient } from "@/server/test/s3-admin";

const { values } = parseArgs({ options: { objects: { type: "string", default: "10000" }, workers: { type: "string", default: "4" } } });
const OBJECTS = Number(values.objects);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wire-bench-backfill-"));
fs.chmodSync(dataDir, 0o755);
const pgPort = await freePort();
const password = randomBytes(8).toString("hex");
Object.assign(process.env, {
  DATABASE_URL: `postgres://postgres:${password}@127.0.0.1:${pgPort}/bench`,
  WIRE_DATA_DIR: dataDir,
  WIRE_ENGINE_PORT: String(await freePort()),
  WIRE_ALLOW_PRIVATE_ENDPOINTS: "true",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
});

const { startEmbeddedPostgres } = await import("@/db/embedded");
const { migrateDatabase } = await import("@/db/migrate");
const pg = await startEmbeddedPostgres({ dataDir, port: pgPort, password, database: "bench" });
await migrateDatabase(process.env.DATABASE_URL!);

// s3rver in its own process, as in the tests.
const s3Dir = path.join(dataDir, "s3");
const s3rver = spawn(process.execPath, ["server/test/s3rver.mjs", JSON.stringify({ directory: s3Dir, buckets: ["bench"], objects: [] })], {
  env: { ...process.env, NODE_OPTIONS: "--openssl-legacy-provider" },
  stdio: ["pipe", "pipe", "inherit"],
});
const s3Port = await new Promise<number>((resolve) => s3rver.stdout!.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port)));
const endpoint = `http://127.0.0.1:${s3Port}`;

const s3 = s3AdminClient(endpoint);
await s3.send(new CreateBucketCommand({ Bucket: "bench-data" }));
const loading = Date.now();
const limit = pLimit(32);
await Promise.all(
  Array.from({ length: OBJECTS }, (_, i) =>
    limit(() =>
      s3.send(
        new PutObjectCommand({
          Bucket: "bench-data",
          Key: `docs/${String(Math.floor(i / 100)).padStart(3, "0")}/note-${i}.md`,
          Body: `# Note ${i}\n\n${"Quarterly figures and remarks. ".repeat(20)}`,
          ContentType: "text/markdown",
        }),
      ),
    ),
  ),
);
console.log(`loaded ${OBJECTS} objects into s3rver in ${((Date.now() - loading) / 1000).toFixed(1)} s`);

const { getDb, closeDb } = await import("@/db/client");
const { sql, eq } = await import("drizzle-orm");
const { connectors, containers, sources, syncRuns, users } = await import("@/db/schema");
const { createOrganization } = await import("@/server/services/organizations");
const { sealCredentials } = await import("@/server/services/connectors/credentials");
const { startEngine } = await import("@/inngest/engine");
const { embeddedEngineKeys } = await import("@/inngest/engine/config");
const { functions } = await import("@/inngest/functions");
const { inngestHandlers } = await import("@/inngest/serve");
const { inngest } = await import("@/inngest/client");
const { sourceSyncRequested } = await import("@/inngest/events");
const { listen } = await import("@/inngest/engine/server");
const { serveRoute } = await import("@/inngest/engine/test/serve-route");
const { logger } = await import("@/server/logger");

const db = getDb();
const userId = randomUUID();
await db.insert(users).values({ id: userId, name: "Bench", email: `${userId}@example.test` });
const org = await createOrganization(db, { userId, name: "Bench" });
const [container] = await db.insert(containers).values({ orgId: org.id, name: "Bench" }).returning();
const connectorId = randomUUID();
await db.insert(connectors).values({
  id: connectorId,
  orgId: org.id,
  label: "Bench",
  provider: "custom",
  endpoint,
  region: "us-east-1",
  testBucket: "bench-data",
  sealedCredentials: await sealCredentials({ id: connectorId, orgId: org.id }, { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }),
});
const [source] = await db.insert(sources).values({ containerId: container!.id, connectorId, bucket: "bench-data", prefix: "docs/" }).returning();

const app = serveRoute(inngestHandlers(functions) as never);
const appPort = await listen(app, 0);
const engine = await startEngine({
  databaseUrl: process.env.DATABASE_URL!,
  port: Number(process.env.WIRE_ENGINE_PORT),
  appUrl: `http://127.0.0.1:${appPort}/api/inngest`,
  ...embeddedEngineKeys(),
  workers: Number(values.workers),
  backoffBaseMs: 200,
  requestTimeoutMs: 120_000,
  log: logger,
});
while (!engine.state.ready) await new Promise((r) => setTimeout(r, 20));

async function timedSync(trigger: "backfill" | "manual") {
  const started = Date.now();
  await inngest.send(sourceSyncRequested.create({ sourceId: source!.id, trigger }));
  for (;;) {
    const [run] = await db.select().from(syncRuns).where(eq(syncRuns.sourceId, source!.id)).orderBy(sql`${syncRuns.startedAt} desc`).limit(1);
    if (run && run.trigger === trigger && run.status !== "running") return { seconds: (Date.now() - started) / 1000, run };
    await new Promise((r) => setTimeout(r, 200));
  }
}

const backfill = await timedSync("backfill");
const [{ filesReady, entryCount }] = (await db.execute(sql`
  select (select count(*)::int from files where source_id = ${source!.id} and status = 'ready') as "filesReady",
         (select count(*)::int from entries e join files f on f.id = e.file_id where f.source_id = ${source!.id}) as "entryCount"`)) as unknown as [
  { filesReady: number; entryCount: number },
];
const incremental = await timedSync("manual");
const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);

console.log(`backfill of ${OBJECTS} objects (${Number(values.workers)} engine workers, ${os.cpus().length} cores):`);
console.log(`  ${backfill.seconds.toFixed(1)} s, ${(OBJECTS / backfill.seconds).toFixed(0)} objects/s; run: ${JSON.stringify({ listed: backfill.run.listed, added: backfill.run.added, failed: backfill.run.failed })}`);
console.log(`  files ready: ${filesReady}, entries with embeddings: ${entryCount}`);
console.log(`incremental sync with nothing changed: ${incremental.seconds.toFixed(1)} s (listed ${incremental.run.listed}, added ${incremental.run.added}, updated ${incremental.run.updated}, removed ${incremental.run.removed})`);
console.log(`process memory (rss) at the end: ${rss} MB`);

await engine.stop();
app.close();
s3.destroy();
s3rver.kill("SIGTERM");
await closeDb();
await pg.stop();
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
