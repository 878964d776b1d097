/**
 * Sources survive their process being killed: the app's background process (real functions + embedded
 * engine + outbox relay) is SIGKILLed mid-backfill and started again, and every object ends up as exactly
 * one ready file; killed right after a detach, the restarted process still removes everything the source pulled;
 * two processes share a backfill, one is killed, the other finishes it with no stored copy left over; and a
 * process killed half-way through streaming a large object into its stored copy leaves nothing behind for good.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import { Inngest } from "inngest";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatabase } from "@/db/client";
import { connectors, containers, files, members, organizations, sourceObjects, sources, users } from "@/db/schema";
import { embeddedClientOptions, embeddedEngineKeys } from "@/inngest/engine/config";
import { until } from "@/inngest/engine/test/harness";
import { sourceSyncRequested } from "@/inngest/events";
import { Outbox } from "@/inngest/outbox";
import { blobStore } from "@/server/blobs";
import { detachSource } from "@/server/services/sources";
import { sealCredentials } from "@/server/services/connectors/credentials";
import { createIsolatedDatabase } from "@/server/test/databases";
import { freePort } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { spawnReadyChild } from "@/inngest/engine/test/child-process";
import { reconcileBlobs } from "@/server/blobs/ledger";
import { env } from "@/server/env";
import { containerBlobPrefix } from "@/server/services/containers";
import { listBlobKeys, testS3 } from "@/server/test/factories";
import { startFaultProxy } from "@/server/test/s3-fault-proxy";
import { STREAM_ABOVE_BYTES } from "@/server/services/sources/imports";

/** Six import batches: the kill lands after some have committed and before all have. */
const OBJECTS = 600;
const s3 = testS3();
const bucket = `crash-${randomUUID().slice(0, 8)}`;
let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let handle: ReturnType<typeof createDatabase>;
let child: ChildProcess | undefined;
let childEnv: Record<string, string>;
/** What the backfill test leaves for the detach test. */
let state: { sourceId: string; containerId: string; blobKeys: string[] } | undefined;

const startApp = () => spawnReadyChild("inngest/functions/test/app-process.ts", childEnv);

beforeAll(async () => {
  database = await createIsolatedDatabase("sync_crash");
  handle = createDatabase(database.url, { max: 2 });
  childEnv = {
    DATABASE_URL: database.url,
    WIRE_ENGINE_PORT: String(await freePort()),
    APP_PORT: String(await freePort()),
    WIRE_ALLOW_PRIVATE_ENDPOINTS: "true",
  };
  const admin = s3AdminClient(s3.endpoint);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await Promise.all(
    Array.from({ length: OBJECTS }, (_, i) =>
      admin.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `docs/${String(i).padStart(3, "0")}.txt`,
          Body: `document ${i} ${"text ".repeat(200)}`,
        }),
      ),
    ),
  );
  admin.destroy();
}, 60_000);

afterAll(async () => {
  child?.kill("SIGKILL");
  await handle?.sql.end();
  await database?.drop();
});

/** An organization with a container, a connector to the test bucket and a source on a prefix, straight in the database. */
async function createSource(db: typeof handle.db, { prefix = "docs/", endpoint = s3.endpoint } = {}) {
  const userId = randomUUID();
  await db.insert(users).values({ id: userId, name: "Crash", email: `${userId}@example.test` });
  const [org] = await db
    .insert(organizations)
    .values({ name: "Crash org", slug: `crash-${userId.slice(0, 8)}` })
    .returning();
  await db.insert(members).values({ orgId: org!.id, userId, role: "owner" });
  const [container] = await db.insert(containers).values({ orgId: org!.id, name: "Crash box" }).returning();
  const connectorId = randomUUID();
  await db.insert(connectors).values({
    id: connectorId,
    orgId: org!.id,
    label: "Crash bucket",
    provider: "custom",
    endpoint,
    region: s3.region,
    testBucket: bucket,
    sealedCredentials: await sealCredentials(
      { id: connectorId, orgId: org!.id },
      { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ),
  });
  const [source] = await db
    .insert(sources)
    .values({ containerId: container!.id, connectorId, bucket, prefix })
    .returning();
  return { container: container!, source: source! };
}

const fileCount = async (sourceId: string) =>
  (
    await handle.db
      .select({ n: sql<number>`count(*)::int` })
      .from(files)
      .where(eq(files.sourceId, sourceId))
  )[0]!.n;

const blobRoot = () => path.join(env().dataDir, "blobs");

/** The stored copies on disk under a container's folder, with their sizes. */
const copiesOnDisk = (containerId: string) =>
  listBlobKeys(blobRoot())
    .filter((key) => key.startsWith(containerBlobPrefix(containerId)))
    .map((key) => ({ key, size: fs.statSync(path.join(blobRoot(), key)).size }));

const sourceStatus = async (sourceId: string) =>
  (await handle.db.select({ status: sources.status }).from(sources).where(eq(sources.id, sourceId)))[0]!.status;

const requestSync = (sourceId: string, enginePort: string) =>
  new Inngest({ id: "wire", ...embeddedClientOptions(embeddedEngineKeys(), Number(enginePort)) }).send(
    sourceSyncRequested.create({ sourceId, trigger: "backfill" }),
  );

/** Every object exactly one ready file with its stored copy, every mirror row imported. Returns the files. */
async function expectExactMirror(sourceId: string) {
  const mirrored = await handle.db.select().from(files).where(eq(files.sourceId, sourceId));
  expect(mirrored).toHaveLength(OBJECTS);
  expect(new Set(mirrored.map((f) => f.name)).size).toBe(OBJECTS);
  expect(mirrored.every((f) => f.status === "ready")).toBe(true);
  for (const file of mirrored) expect(await blobStore().exists(file.blobKey!)).toBe(true);
  const objects = await handle.db.select().from(sourceObjects).where(eq(sourceObjects.sourceId, sourceId));
  expect(objects).toHaveLength(OBJECTS);
  expect(objects.every((o) => o.fileId !== null && !o.needsImport)).toBe(true);
  return mirrored;
}

it("resumes a backfill after SIGKILL with every object imported exactly once", async () => {
  const db = handle.db;
  const { container, source } = await createSource(db);
  child = await startApp();
  await requestSync(source.id, childEnv.WIRE_ENGINE_PORT!);

  await until(async () => (await fileCount(source.id)) >= 100, 60_000, "the backfill to be under way");
  child.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));
  const atKill = await fileCount(source.id);
  expect(atKill).toBeLessThan(OBJECTS);

  child = await startApp();
  await until(
    async () => (await sourceStatus(source.id)) === "synced",
    60_000,
    "the backfill to finish after the restart",
  );

  const mirrored = await expectExactMirror(source.id);
  state = { sourceId: source.id, containerId: container.id, blobKeys: mirrored.map((f) => f.blobKey!) };
}, 180_000);

it("removes everything a source pulled when the process is killed right after its detach", async () => {
  expect(state).toBeDefined();
  const db = handle.db;
  const { sourceId, containerId, blobKeys } = state!;
  // The detach commits with its event in the outbox; the process dies before relaying it.
  const outbox = new Outbox(db, { send: () => Promise.reject(new Error("never reached")) });
  await detachSource(
    db,
    { record: (tx, events) => outbox.record(tx, events), flush: async () => {} },
    { containerId, sourceId },
  );
  child!.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));

  child = await startApp();
  const counts = async () => {
    const [row] = await db.execute<{ files: number; entries: number; objects: number }>(sql`
      select (select count(*) from ${files} where source_id = ${sourceId})::int as files,
             (select count(*) from entries e join ${files} f on f.id = e.file_id where f.source_id = ${sourceId})::int as entries,
             (select count(*) from ${sourceObjects} where source_id = ${sourceId})::int as objects`);
    return row!;
  };
  const copiesLeft = async () =>
    (await Promise.all(blobKeys.map((key) => blobStore().exists(key)))).filter(Boolean).length;
  // The kill may land mid-cleanup (rows gone, copies not yet): the cleanup's retry after the restart finishes it.
  await until(
    async () => (await counts()).files === 0 && (await copiesLeft()) === 0,
    90_000,
    "the detached source's files and copies to go after the restart",
  );
  expect(await counts()).toEqual({ files: 0, entries: 0, objects: 0 });
  const [{ n: orphanedVectors }] = (await db.execute(
    sql`select count(*)::int as n from embeddings m where not exists (select 1 from entries e where e.id = m.entry_id)`,
  )) as unknown as [{ n: number }];
  expect(orphanedVectors).toBe(0);
  expect(await copiesLeft()).toBe(0);
}, 150_000);

it("finishes a backfill two processes share when one is killed: each object once, no stored copy left without a file", async () => {
  child?.kill("SIGKILL");
  const { container, source } = await createSource(handle.db);
  child = await startApp();
  const survivor = await spawnReadyChild("inngest/functions/test/app-process.ts", {
    ...childEnv,
    WIRE_ENGINE_PORT: String(await freePort()),
    APP_PORT: String(await freePort()),
  });
  try {
    await requestSync(source.id, childEnv.WIRE_ENGINE_PORT!);
    // Killed in the middle of an import batch of its own (downloads and copies in flight, nothing committed).
    const importing = async (pid: number) => {
      const [row] = await handle.db.execute<{ n: number }>(sql`
        select count(*)::int as n from engine_jobs
        where function_id like '%import-objects' and lease_token is not null and leased_by like ${`%:${pid}`}`);
      return row!.n > 0;
    };
    await until(
      async () => (await fileCount(source.id)) >= 100 && (await importing(child!.pid!)),
      60_000,
      "the backfill to be under way, the first process importing",
    );
    child.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));
    const atKill = await fileCount(source.id);
    expect(atKill).toBeLessThan(OBJECTS);
    // The survivor takes the killed process's calls over once their leases (30 s) run out.
    await until(async () => (await sourceStatus(source.id)) === "synced", 120_000, "the survivor to finish");

    const referenced = new Set((await expectExactMirror(source.id)).map((f) => f.blobKey!));
    const onDisk = () => copiesOnDisk(container.id).map((copy) => copy.key);
    const orphaned = onDisk().filter((key) => !referenced.has(key)).length;
    // What the ten-minute reconcile does once a copy's hour of grace is over.
    await reconcileBlobs(handle.db, blobStore(), { writingGraceMs: 0 });
    expect(onDisk().sort()).toEqual([...referenced].sort());
    console.log(
      `two processes, one killed with ${atKill} of ${OBJECTS} files in: ${OBJECTS} files, ${orphaned} copies without a file before reconcile, 0 after`,
    );
  } finally {
    survivor.kill("SIGKILL");
  }
}, 240_000);

it("leaves no partial copy for good when the process is killed half-way through streaming a large object", async () => {
  child?.kill("SIGKILL");
  const prefix = "large/";
  const size = 3 * STREAM_ABOVE_BYTES; // streamed from S3 into the blob store, never held whole
  const names = ["a.txt", "b.txt", "c.txt"];
  const admin = s3AdminClient(s3.endpoint);
  const body = Buffer.alloc(size, "A line of a large report\n");
  for (const name of names) {
    await admin.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${name}`, Body: body, ContentType: "text/plain" }),
    );
  }
  admin.destroy();
  // b.txt's download stops after 4 MB and stays open: the kill lands with its copy half-written.
  let stall = true;
  let stalled = 0;
  const proxy = await startFaultProxy(s3.endpoint, ({ method, path: requestPath }) => {
    if (!stall || method !== "GET" || !requestPath.endsWith(`${prefix}b.txt`)) return null;
    stalled++;
    return { stallAfterBytes: 4 * 1024 * 1024 };
  });
  try {
    const { container, source } = await createSource(handle.db, { prefix, endpoint: proxy.endpoint });
    child = await startApp();
    await requestSync(source.id, childEnv.WIRE_ENGINE_PORT!);
    const halfWritten = () => copiesOnDisk(container.id).filter((c) => c.size >= 1024 * 1024 && c.size < size);
    await until(() => stalled > 0 && halfWritten().length > 0, 60_000, "b.txt half-way into its copy");
    child.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));
    const leftAtKill = halfWritten();
    expect(leftAtKill.length).toBeGreaterThan(0);

    stall = false;
    child = await startApp();
    // The killed call is taken over once its lease (30 s) runs out.
    await until(async () => (await sourceStatus(source.id)) === "synced", 120_000, "the restarted process to finish");

    const mirrored = await handle.db.select().from(files).where(eq(files.sourceId, source.id)).orderBy(files.name);
    expect(mirrored.map((f) => [f.name, f.status, f.size])).toEqual(
      names.map((name) => [`${prefix}${name}`, "ready", size]),
    );
    const referenced = mirrored.map((f) => f.blobKey!).sort();
    for (const key of referenced) expect(fs.statSync(path.join(blobRoot(), key)).size).toBe(size);
    const orphaned = copiesOnDisk(container.id).filter((c) => !referenced.includes(c.key));
    expect(orphaned.map((c) => c.key)).toEqual(expect.arrayContaining(leftAtKill.map((c) => c.key)));
    // What the ten-minute reconcile does once a copy's hour of grace is over.
    await reconcileBlobs(handle.db, blobStore(), { writingGraceMs: 0 });
    expect(copiesOnDisk(container.id).map((c) => c.key)).toEqual(referenced);
    console.log(
      `killed mid-stream: ${leftAtKill.length} half-written ${leftAtKill.length === 1 ? "copy" : "copies"} (the first ${(leftAtKill[0]!.size / 1024 / 1024).toFixed(1)} of ${size / 1024 / 1024} MB), ${orphaned.length} without a file after the restart, 0 after reconcile; 3 whole copies`,
    );
  } finally {
    await proxy.close();
  }
}, 240_000);
