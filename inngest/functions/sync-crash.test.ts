/**
 * Sources survive their process being killed: the app's background process (real functions + embedded
 * engine + outbox relay) is SIGKILLed mid-backfill and started again, and every object ends up as exactly
 * one ready file; killed right after a detach, the restarted process still removes everything the source pulled.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
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
import { testS3 } from "@/server/test/factories";
import { freePort } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { spawnReadyChild } from "@/inngest/engine/test/child-process";

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

it("resumes a backfill after SIGKILL with every object imported exactly once", async () => {
  const db = handle.db;
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
    endpoint: s3.endpoint,
    region: s3.region,
    testBucket: bucket,
    sealedCredentials: await sealCredentials(
      { id: connectorId, orgId: org!.id },
      { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ),
  });
  const [source] = await db
    .insert(sources)
    .values({ containerId: container!.id, connectorId, bucket, prefix: "docs/" })
    .returning();

  child = await startApp();
  const client = new Inngest({
    id: "wire",
    ...embeddedClientOptions(embeddedEngineKeys(), Number(childEnv.WIRE_ENGINE_PORT)),
  });
  await client.send(sourceSyncRequested.create({ sourceId: source!.id, trigger: "backfill" }));

  const fileCount = async () =>
    (
      await db
        .select({ n: sql<number>`count(*)::int` })
        .from(files)
        .where(eq(files.sourceId, source!.id))
    )[0]!.n;
  await until(async () => (await fileCount()) >= 100, 60_000, "the backfill to be under way");
  child.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));
  const atKill = await fileCount();
  expect(atKill).toBeLessThan(OBJECTS);

  child = await startApp();
  await until(
    async () => {
      const [row] = await db.select({ status: sources.status }).from(sources).where(eq(sources.id, source!.id));
      return row!.status === "synced";
    },
    60_000,
    "the backfill to finish after the restart",
  );

  const mirrored = await db.select().from(files).where(eq(files.sourceId, source!.id));
  expect(mirrored).toHaveLength(OBJECTS);
  expect(new Set(mirrored.map((f) => f.name)).size).toBe(OBJECTS);
  expect(mirrored.every((f) => f.status === "ready")).toBe(true);
  for (const file of mirrored) expect(await blobStore().exists(file.blobKey!)).toBe(true);
  const objects = await db.select().from(sourceObjects).where(eq(sourceObjects.sourceId, source!.id));
  expect(objects).toHaveLength(OBJECTS);
  expect(objects.every((o) => o.fileId !== null && !o.needsImport)).toBe(true);
  state = { sourceId: source!.id, containerId: container!.id, blobKeys: mirrored.map((f) => f.blobKey!) };
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
