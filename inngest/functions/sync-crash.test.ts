/**
 * A backfill survives its process being killed: the app's background process (real functions + embedded
 * engine) is SIGKILLed mid-backfill and started again; every object ends up as exactly one ready file.
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
import { blobStore } from "@/server/blobs";
import { sealCredentials } from "@/server/services/connectors/credentials";
import { createIsolatedDatabase } from "@/server/test/databases";
import { testS3 } from "@/server/test/factories";
import { freePort } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { spawnReadyChild } from "@/inngest/engine/test/child-process";

const OBJECTS = 60;
const s3 = testS3();
const bucket = `crash-${randomUUID().slice(0, 8)}`;
let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let handle: ReturnType<typeof createDatabase>;
let child: ChildProcess | undefined;
let childEnv: Record<string, string>;

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
      admin.send(new PutObjectCommand({ Bucket: bucket, Key: `docs/${String(i).padStart(2, "0")}.txt`, Body: `document ${i} ${"text ".repeat(200)}` })),
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
  const [org] = await db.insert(organizations).values({ name: "Crash org", slug: `crash-${userId.slice(0, 8)}` }).returning();
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
    sealedCredentials: await sealCredentials({ id: connectorId, orgId: org!.id }, { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }),
  });
  const [source] = await db.insert(sources).values({ containerId: container!.id, connectorId, bucket, prefix: "docs/" }).returning();

  child = await startApp();
  const client = new Inngest({ id: "wire", ...embeddedClientOptions(embeddedEngineKeys(), Number(childEnv.WIRE_ENGINE_PORT)) });
  await client.send(sourceSyncRequested.create({ sourceId: source!.id, trigger: "backfill" }));

  const fileCount = async () => (await db.select({ n: sql<number>`count(*)::int` }).from(files).where(eq(files.sourceId, source!.id)))[0]!.n;
  await until(async () => (await fileCount()) >= 10, 30_000, "the backfill to be under way");
  child.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));
  const atKill = await fileCount();
  expect(atKill).toBeLessThan(OBJECTS);

  child = await startApp();
  await until(async () => {
    const [row] = await db.select({ status: sources.status }).from(sources).where(eq(sources.id, source!.id));
    return row!.status === "synced";
  }, 60_000, "the backfill to finish after the restart");

  const mirrored = await db.select().from(files).where(eq(files.sourceId, source!.id));
  expect(mirrored).toHaveLength(OBJECTS);
  expect(new Set(mirrored.map((f) => f.name)).size).toBe(OBJECTS);
  expect(mirrored.every((f) => f.status === "ready")).toBe(true);
  for (const file of mirrored) expect(await blobStore().exists(file.blobKey)).toBe(true);
  const objects = await db.select().from(sourceObjects).where(eq(sourceObjects.sourceId, source!.id));
  expect(objects).toHaveLength(OBJECTS);
  expect(objects.every((o) => o.fileId !== null && !o.needsImport)).toBe(true);
}, 120_000);
