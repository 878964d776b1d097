/**
 * An S3 endpoint that accepts connections and never answers, through the app's functions and the real
 * embedded engine against a real S3 server behind a proxy: the Syncing pill says why within a minute (not
 * after the retries run out), the source does not flap to Error meanwhile, and once the endpoint answers
 * again the run completes with every object exactly once.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startS3rver } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { startFaultProxy } from "@/server/test/s3-fault-proxy";
import { switchToOwnDatabase } from "@/server/test/databases";

// The app's Inngest client reads its engine port when first imported: give this file an engine of its own,
// and a database of its own for it.
process.env.WIRE_ENGINE_PORT = String(await freePort());
const database = await switchToOwnDatabase("hung_endpoint");

const { getDb } = await import("@/db/client");
const { files, sources, syncRuns } = await import("@/db/schema");
const { until } = await import("@/inngest/engine/test/harness");
const { startAppWithEngine } = await import("./test/app-with-engine");
const { sourceWorld } = await import("./test/source-world");

const BUCKET = "hung";
const KEYS = ["a.txt", "b.txt", "c.txt"];
/** The promise: a hung endpoint's reason is on the Syncing pill within a minute. */
const SHOWN_WITHIN_MS = 60_000;
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "wire-hung-s3rver-"));
let s3: Awaited<ReturnType<typeof startS3rver>>;
let stopApp: () => Promise<void>;

beforeAll(async () => {
  s3 = await startS3rver(directory, { buckets: [], objects: [] });
  const admin = s3AdminClient(s3.endpoint);
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  admin.destroy();
  // Production's step timeout (minutes), so the engine never cuts a step short before S3's own timeouts fire.
  ({ stop: stopApp } = await startAppWithEngine({ requestTimeoutMs: 10 * 60_000 }));
}, 60_000);

afterAll(async () => {
  await stopApp?.();
  await s3?.stop();
  fs.rmSync(directory, { recursive: true, force: true });
  await database.drop();
});

/** Hangs the requests `which` matches until told to stop; attach's own check (MaxKeys 1) always answers. */
async function hungWorld(which: "listing" | "downloads") {
  const prefix = `${which}-${randomUUID().slice(0, 6)}/`;
  const admin = s3AdminClient(s3.endpoint);
  for (const key of KEYS)
    await admin.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: prefix + key, Body: `content of ${key}`, ContentType: "text/plain" }),
    );
  admin.destroy();
  let hang = true;
  const proxy = await startFaultProxy(s3.endpoint, ({ method, query }) => {
    if (!hang || method !== "GET") return null;
    const listing = query.has("list-type");
    if (which === "listing" && listing && query.get("max-keys") !== "1") return "hang";
    if (which === "downloads" && !listing) return "hang";
    return null;
  });
  const { container, connector, api } = await sourceWorld({ endpoint: proxy.endpoint, testBucket: BUCKET });
  const { id: sourceId } = await api.sources.attach({
    containerId: container.id,
    connectorId: connector.id,
    bucket: BUCKET,
    prefix,
  });
  const shown = () =>
    api.sources.list({ containerId: container.id }).then((rows) => rows.find((r) => r.id === sourceId)!);
  return {
    api,
    prefix,
    sourceId,
    proxy,
    shown,
    recover: () => {
      hang = false;
      proxy.dropHanging();
    },
  };
}

async function expectReasonWithinAMinute(world: Awaited<ReturnType<typeof hungWorld>>) {
  const started = Date.now();
  let seen: Awaited<ReturnType<typeof world.shown>> | undefined;
  await until(
    async () => {
      seen = await world.shown();
      return Boolean(seen.progress?.retrying);
    },
    SHOWN_WITHIN_MS + 15_000,
    "the Syncing pill to say why it is retrying",
  );
  const elapsedMs = Date.now() - started;
  console.log(`hung endpoint: reason shown after ${(elapsedMs / 1000).toFixed(1)} s`);
  expect(elapsedMs).toBeLessThan(SHOWN_WITHIN_MS);
  expect(seen!.status).toBe("syncing");
  expect(seen!.progress!.retrying).toMatch(/did not answer in time\. Check that the endpoint is reachable from Wire/);
}

async function expectCompleteOnce(world: Awaited<ReturnType<typeof hungWorld>>) {
  await until(
    async () => {
      const [row] = await getDb()
        .select({ status: sources.status })
        .from(sources)
        .where(eq(sources.id, world.sourceId));
      return row!.status === "synced";
    },
    90_000,
    "the source to reach Synced once the endpoint answers",
  );
  const mirrored = await getDb()
    .select({ name: files.name, status: files.status })
    .from(files)
    .where(eq(files.sourceId, world.sourceId))
    .orderBy(files.name);
  expect(mirrored).toEqual(KEYS.map((key) => ({ name: world.prefix + key, status: "ready" })));
  const runs = await getDb().select().from(syncRuns).where(eq(syncRuns.sourceId, world.sourceId));
  expect(runs).toHaveLength(1);
  // Progress cleared the retry note: the run that recovered does not read as troubled.
  expect(runs[0]).toMatchObject({ status: "succeeded", error: null, listed: KEYS.length, processed: KEYS.length });
  expect((await world.shown()).progress).toBeNull();
}

describe("a hung S3 endpoint", () => {
  // Downloads too: the abandoned attempt writes nothing beside its retry (each key ends as exactly one file).
  it.each(["listing", "downloads"] as const)(
    "%s: the Syncing pill says why within a minute, and the run completes once it answers",
    async (which) => {
      const world = await hungWorld(which);
      try {
        await expectReasonWithinAMinute(world);
        world.recover();
        await expectCompleteOnce(world);
      } finally {
        await world.proxy.close();
      }
    },
    240_000,
  );
});
