/**
 * Sources at the size the product promises, through the app's functions and the real embedded engine
 * (Inngest's limits in force: 1,000 steps a run, 4 MB a step result, 32 MB of run state), against a real
 * S3 server of the test's own: a 100,050-object prefix, objects that cannot be read, an object over the cap.
 */
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq, gte, like, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundHeapGrowth } from "@/server/heap-growth";
import { freePort, startS3rver } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { linkObjects } from "@/server/test/s3-bulk";
import { startFaultProxy } from "@/server/test/s3-fault-proxy";
import { withPeakRssGrowth } from "@/server/test/memory";
import { switchToOwnDatabase } from "@/server/test/databases";

// The app's process collects garbage sooner than V8's default (instrumentation.ts); the RSS figures here are of
// this process, which runs the app's functions, so it does the same.
boundHeapGrowth();

// The app's Inngest client reads its engine port when first imported: give this file an engine of its own.
process.env.WIRE_ENGINE_PORT = String(await freePort());
// And a database of its own, so no other file's engine runs this file's calls (and stretches its figures).
const database = await switchToOwnDatabase("scale");

const { getDb } = await import("@/db/client");
const { connectors, engineAttempts, engineRuns, entries, files, sourceObjects, sources, syncListedPages, syncRuns } =
  await import("@/db/schema");
const { until } = await import("@/inngest/engine/test/harness");
const { onS3Request } = await import("@/server/s3/request-log");
const { listPages, removeMissing, removeStaleScratchLists } = await import("@/server/services/sources/listing");
const { failRun, startRun } = await import("@/server/services/sources/runs");
const { blobStore } = await import("@/server/blobs");
const { recordingEvents } = await import("@/server/test/events");
const { BODY_MEMORY_BYTES } = await import("@/server/processing/memory-budget");
const { env } = await import("@/server/env");
const { startAppWithEngine } = await import("./test/app-with-engine");
const { sourceSettled, sourceWorld } = await import("./test/source-world");

const BUCKET = "scale";
const PROMISED = 100_000;
const directory = fs.mkdtempSync(path.join(os.tmpdir(), "wire-scale-s3rver-"));
let s3: Awaited<ReturnType<typeof startS3rver>>;
let admin: ReturnType<typeof s3AdminClient>;
let stopApp: () => Promise<void>;
/** The 100,000-key source the first removal test leaves synced, for the second. */
let removalWorld:
  { containerId: string; sourceId: string; api: Awaited<ReturnType<typeof sourceWorld>>["api"] } | undefined;

beforeAll(async () => {
  s3 = await startS3rver(directory, {
    buckets: [BUCKET],
    objects: [{ bucket: BUCKET, key: "template.txt", body: "A page of a large archive. ".repeat(20) }],
  });
  admin = s3AdminClient(s3.endpoint);
  ({ stop: stopApp } = await startAppWithEngine());
}, 60_000);

afterAll(async () => {
  await stopApp?.();
  admin?.destroy();
  await s3?.stop();
  fs.rmSync(directory, { recursive: true, force: true });
  await database.drop();
});

/** A source on big/00 (10,000 keys, made by the first test) with a run started, for tests that drive its listing. */
async function runOverBig00() {
  const { container, connector } = await sourceWorld({ endpoint: s3.endpoint, testBucket: BUCKET });
  const [source] = await getDb()
    .insert(sources)
    .values({ containerId: container.id, connectorId: connector.id, bucket: BUCKET, prefix: "big/00" })
    .returning();
  const run = await startRun(getDb(), source!.id, "manual");
  return { source: source!, run: run! };
}

/** Every engine run a source's sync made (the sync itself and its imports), with its step count and state. */
function runsOf(sourceId: string) {
  return getDb()
    .select({
      functionId: engineRuns.functionId,
      status: engineRuns.status,
      steps: engineRuns.stepCount,
      stateBytes: engineRuns.stateBytes,
    })
    .from(engineRuns)
    .where(sql`${engineRuns.event}->'data'->>'sourceId' = ${sourceId}`);
}

/** Stores each of `keys` as `mb` MiB of `fill` repeated, streamed up from a file (never whole in this process). */
async function putLargeObjects(keys: string[], mb: number, fill: string) {
  const file = path.join(directory, `large-${randomUUID()}.bin`);
  const unit = Buffer.from(fill);
  const chunk = Buffer.concat(Array.from({ length: Math.ceil((1024 * 1024) / unit.length) }, () => unit)).subarray(
    0,
    1024 * 1024,
  );
  const fd = fs.openSync(file, "w");
  for (let i = 0; i < mb; i++) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  for (const key of keys)
    await admin.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: fs.createReadStream(file),
        ContentLength: mb * 1024 * 1024,
        ContentType: "text/plain",
      }),
    );
  fs.rmSync(file);
}

/** Runs `work` with the import cap (WIRE_MAX_FILE_BYTES) raised to `bytes`. */
async function withFileCap<T>(bytes: number, work: () => Promise<T>): Promise<T> {
  const config = env();
  const before = config.WIRE_MAX_FILE_BYTES;
  config.WIRE_MAX_FILE_BYTES = bytes;
  try {
    return await work();
  } finally {
    config.WIRE_MAX_FILE_BYTES = before;
  }
}

/** Attaches `prefix` of the test bucket to a fresh container and waits for the backfill to settle. */
async function backfill(prefix: string, timeoutMs: number, endpoint = s3.endpoint) {
  const { container, connector, api } = await sourceWorld({ endpoint, testBucket: BUCKET });
  const { id: sourceId } = await api.sources.attach({
    containerId: container.id,
    connectorId: connector.id,
    bucket: BUCKET,
    prefix,
  });
  await sourceSettled(sourceId, timeoutMs);
  return getDb().select().from(files).where(eq(files.sourceId, sourceId)).orderBy(files.name);
}

describe("sources at scale", () => {
  it("syncs a 100,050-object prefix: stops at 100,000 with the warning, removes nothing, ≤ 300 steps in every run", async () => {
    const keyOf = (i: number) =>
      `big/${String(Math.floor(i / 1000)).padStart(3, "0")}/${String(i).padStart(6, "0")}.txt`;
    const total = PROMISED + 50;
    linkObjects(
      directory,
      BUCKET,
      "template.txt",
      Array.from({ length: total }, (_, i) => keyOf(i)),
    );
    const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keyOf(0) }));
    const { container, connector, api } = await sourceWorld({ endpoint: s3.endpoint, testBucket: BUCKET });
    const [source] = await getDb()
      .insert(sources)
      .values({
        containerId: container.id,
        connectorId: connector.id,
        bucket: BUCKET,
        prefix: "big/",
        status: "synced",
        lastSyncedAt: new Date(),
      })
      .returning();
    const sourceId = source!.id;
    // A mirror as a previous sync left it: every key known at its ETag, except 500 that changed since; and
    // files for keys past the cap and for keys gone from the bucket, which a truncated listing must not remove.
    await getDb().execute(sql`
      insert into ${sourceObjects} (source_id, key, etag, size, needs_import)
      select ${sourceId}, 'big/' || lpad((i / 1000)::text, 3, '0') || '/' || lpad(i::text, 6, '0') || '.txt',
             case when i % 200 = 7 then '"changed"' else ${head.ETag!} end, 540, false
      from generate_series(0, ${total - 1}) as i`);
    const kept = [
      ...Array.from({ length: 50 }, (_, i) => keyOf(PROMISED + i)),
      ...Array.from({ length: 20 }, (_, i) => `big/zzz/gone-${i}.txt`),
    ];
    const keptFiles = await getDb()
      .insert(files)
      .values(
        kept.map((name) => ({
          containerId: container.id,
          name,
          origin: "connector" as const,
          sourceId,
          status: "ready" as const,
          contentType: "text/plain",
          size: 1,
          blobKey: null,
        })),
      )
      .returning({ id: files.id, name: files.name });
    await getDb().execute(sql`
      insert into ${sourceObjects} (source_id, key, etag, size, needs_import, file_id)
      select ${sourceId}, x.name, '"gone"', 1, false, x.id from jsonb_to_recordset(${JSON.stringify(keptFiles.filter((k) => k.name.includes("gone")))}::jsonb) as x(id uuid, name text)`);
    await getDb()
      .update(sourceObjects)
      .set({ fileId: sql`(select id from ${files} where source_id = ${sourceId} and name = ${sourceObjects.key})` })
      .where(and(eq(sourceObjects.sourceId, sourceId), sql`${sourceObjects.key} >= ${keyOf(PROMISED)}`));

    // Each page is asked for once, though the next step's first page is asked for before that step starts.
    const pagesAsked: (string | null)[] = [];
    const stopLog = onS3Request(
      (r) => r.operation === "ListObjectsV2" && r.prefix === "big/" && pagesAsked.push(r.continuationToken ?? null),
    );
    const started = Date.now();
    expect((await api.sources.syncNow({ containerId: container.id, sourceId })).queued).toBe("now");
    await until(
      async () => (await api.sources.runs({ containerId: container.id, sourceId })).length === 1,
      30_000,
      "the run to start",
    );
    await sourceSettled(sourceId, 600_000);
    const seconds = (Date.now() - started) / 1000;
    stopLog();
    expect(pagesAsked).toHaveLength(PROMISED / 1000);
    expect(new Set(pagesAsked).size).toBe(PROMISED / 1000);

    const [run] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(run).toMatchObject({
      status: "succeeded",
      truncated: true,
      listed: PROMISED,
      added: 0,
      updated: PROMISED / 200,
      removed: 0,
      failed: 0,
    });
    expect(run!.processed).toBe(PROMISED / 200);
    const remaining = await getDb().select({ name: files.name }).from(files).where(eq(files.sourceId, sourceId));
    expect(remaining.map((r) => r.name)).toEqual(expect.arrayContaining(kept));
    const [{ n: mirrored }] = (await getDb().execute(
      sql`select count(*)::int as n from ${sourceObjects} where source_id = ${sourceId}`,
    )) as unknown as [{ n: number }];
    expect(mirrored).toBe(total + 20);

    const engineRunsOfSync = await runsOf(sourceId);
    const maxSteps = Math.max(...engineRunsOfSync.map((r) => r.steps));
    const maxState = Math.max(...engineRunsOfSync.map((r) => r.stateBytes));
    console.info(
      `100,050-object prefix: ${seconds.toFixed(1)} s, ${engineRunsOfSync.length} engine runs, most steps in one run ${maxSteps}, most run state ${(maxState / 1024).toFixed(1)} KB`,
    );
    expect(engineRunsOfSync.every((r) => r.status === "completed")).toBe(true);
    expect(maxSteps).toBeLessThanOrEqual(300);
    expect(maxState).toBeLessThanOrEqual(1024 * 1024);
  }, 900_000);

  it("asks for a listing step's next page as the step ends; the next step takes it instead of asking again", async () => {
    const { source, run } = await runOverBig00();
    const asked: (string | null)[] = [];
    const stopLog = onS3Request(
      (r) => r.operation === "ListObjectsV2" && r.prefix === "big/00" && asked.push(r.continuationToken ?? null),
    );
    try {
      // One page a step: the step's page number is its count of keys before it in thousands.
      const step = (token: string | null, listedSoFar: number, maxObjects = PROMISED) =>
        listPages(getDb(), recordingEvents(), {
          sourceId: source.id,
          runId: run.runId,
          token,
          listedSoFar,
          pagesSoFar: listedSoFar / 1000,
          maxObjects,
          pages: 1,
        });
      const first = await step(null, 0);
      expect(first).toMatchObject({ listed: 1000, truncated: false });
      await until(() => Promise.resolve(asked.length === 2), 10_000, "the second page to be asked for");
      expect(asked).toEqual([null, first.nextToken]);

      const second = await step(first.nextToken, 1000);
      expect(second.listed).toBe(1000);
      await until(() => Promise.resolve(asked.length === 3), 10_000, "the third page to be asked for");
      expect(asked).toEqual([null, first.nextToken, second.nextToken]);

      // A step that asks for other than what was fetched (a smaller page near the cap) asks S3 itself.
      const third = await step(second.nextToken, 2000, 2500);
      expect(third).toMatchObject({ listed: 500, truncated: true, nextToken: null });
      expect(asked).toEqual([null, first.nextToken, second.nextToken, second.nextToken]);

      // The first step again (its result lost, the engine retries it): its page counts once, is handed out once.
      const [before] = await getDb().select().from(syncRuns).where(eq(syncRuns.id, run.runId));
      expect(before).toMatchObject({ listed: 2500, added: 2500, batches: 25 });
      expect(await step(null, 0)).toMatchObject({ listed: 1000, truncated: false });
      const [after] = await getDb().select().from(syncRuns).where(eq(syncRuns.id, run.runId));
      expect(after).toMatchObject({ listed: 2500, added: 2500, batches: 25 });
    } finally {
      stopLog();
    }
  });

  it("records what a run saw as a row a page; removal counts only the run's own pages, and stops if the list was lost", async () => {
    const { source, run } = await runOverBig00();
    const runId = run.runId;
    const list = (token: string | null, pagesSoFar: number, pages: number) =>
      listPages(getDb(), recordingEvents(), {
        sourceId: source.id,
        runId,
        token,
        listedSoFar: pagesSoFar * 1000,
        pagesSoFar,
        maxObjects: PROMISED,
        pages,
      });
    const scratch = () =>
      getDb().select().from(syncListedPages).where(eq(syncListedPages.runId, runId)).orderBy(syncListedPages.page);
    const mirrorKeys = async () =>
      (
        await getDb()
          .select({ key: sourceObjects.key })
          .from(sourceObjects)
          .where(eq(sourceObjects.sourceId, source.id))
      ).map((o) => o.key);

    const first = await list(null, 0, 2);
    expect(first).toMatchObject({ listed: 2000, pages: 2 });
    // The last step's first attempt got a page further than its retry does (keys deleted meanwhile end the
    // listing sooner): its page 3 stays in the scratch list, past the run's last page.
    expect(await list(first.nextToken, 2, 2)).toMatchObject({ listed: 2000, pages: 2 });
    expect(await list(first.nextToken, 2, 1)).toMatchObject({ listed: 1000, pages: 1 });
    const pages = await scratch();
    expect(pages.map((p) => [p.page, p.listed, p.keys.length])).toEqual([
      [0, 1000, 1000],
      [1, 1000, 1000],
      [2, 1000, 1000],
      [3, 1000, 1000],
    ]);
    const [counted] = await getDb().select().from(syncRuns).where(eq(syncRuns.id, runId));
    expect(counted!.listed).toBe(4000); // how far listing got, each page once: never a sum of attempts

    // Every key listed was handed out to the mirror, page 3's too; the run saw pages 0–2, so page 3's keys go.
    expect(await mirrorKeys()).toHaveLength(4000);
    const removal = await removeMissing(getDb(), blobStore(), {
      sourceId: source.id,
      runId,
      listedTotal: 3000,
      pagesTotal: 3,
    });
    expect(removal).toEqual({ removed: 1000, remaining: false });
    const kept = new Set(await mirrorKeys());
    expect(kept.size).toBe(3000);
    expect(pages.slice(0, 3).every((p) => p.keys.every((key) => kept.has(key)))).toBe(true);

    // The scratch list lost (the table is unlogged: a database crash empties it): nothing is removed.
    await getDb().delete(syncListedPages).where(eq(syncListedPages.runId, runId));
    await expect(
      removeMissing(getDb(), blobStore(), { sourceId: source.id, runId, listedTotal: 3000, pagesTotal: 3 }),
    ).rejects.toThrow(/lost track of part of its listing \(0 of 3000 keys\)\. Nothing was removed/);
    expect(await mirrorKeys()).toHaveLength(3000);

    // A running run's list stays; a failed run's goes with reconcile.
    await list(null, 0, 1);
    await removeStaleScratchLists(getDb());
    expect(await scratch()).toHaveLength(1);
    await failRun(getDb(), { sourceId: source.id, runId, message: "test", credentialsFailed: false });
    await removeStaleScratchLists(getDb());
    expect(await scratch()).toHaveLength(0);
  });

  it("removes what a complete 100,000-object listing did not see, and nothing else", async () => {
    // The 100,000 keys under big/0 (made by the test before), all known at their ETag, and 30 keys gone from the bucket.
    const head = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "big/000/000000.txt" }));
    const { container, connector, api } = await sourceWorld({ endpoint: s3.endpoint, testBucket: BUCKET });
    const [source] = await getDb()
      .insert(sources)
      .values({
        containerId: container.id,
        connectorId: connector.id,
        bucket: BUCKET,
        prefix: "big/0",
        status: "synced",
        lastSyncedAt: new Date(),
      })
      .returning();
    const sourceId = source!.id;
    await getDb().execute(sql`
      insert into ${sourceObjects} (source_id, key, etag, size, needs_import)
      select ${sourceId}, 'big/' || lpad((i / 1000)::text, 3, '0') || '/' || lpad(i::text, 6, '0') || '.txt', ${head.ETag!}, 540, false
      from generate_series(0, ${PROMISED - 1}) as i`);
    const gone = await getDb()
      .insert(files)
      .values(
        Array.from({ length: 30 }, (_, i) => ({
          containerId: container.id,
          name: `big/0zz/gone-${i}.txt`,
          origin: "connector" as const,
          sourceId,
          status: "ready" as const,
          contentType: "text/plain",
          size: 1,
          blobKey: null,
        })),
      )
      .returning({ id: files.id, name: files.name });
    await getDb()
      .insert(sourceObjects)
      .values(gone.map((g) => ({ sourceId, key: g.name, etag: '"gone"', size: 1, needsImport: false, fileId: g.id })));

    const started = Date.now();
    expect((await api.sources.syncNow({ containerId: container.id, sourceId })).queued).toBe("now");
    await until(
      async () => (await api.sources.runs({ containerId: container.id, sourceId })).length === 1,
      30_000,
      "the run to start",
    );
    await sourceSettled(sourceId, 600_000);
    console.info(`no-change sync of 100,000 keys with 30 removals: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const [run] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(run).toMatchObject({
      status: "succeeded",
      truncated: false,
      listed: PROMISED,
      added: 0,
      updated: 0,
      removed: 30,
      processed: 0,
    });
    expect(await getDb().select().from(files).where(eq(files.sourceId, sourceId))).toEqual([]);
    const [{ n }] = (await getDb().execute(
      sql`select count(*)::int as n from ${sourceObjects} where source_id = ${sourceId}`,
    )) as unknown as [{ n: number }];
    expect(n).toBe(PROMISED);
    removalWorld = { containerId: container.id, sourceId, api };
  }, 900_000);

  it("removes 12,000 keys gone from a 100,000-key prefix over several removal steps, the mirror exact after", async () => {
    expect(removalWorld).toBeDefined();
    const { containerId, sourceId, api } = removalWorld!;
    // Keys the mirror knows from an earlier run that the bucket no longer has (a folder deleted at the source).
    const gone = 12_000;
    await getDb().execute(sql`
      insert into ${sourceObjects} (source_id, key, etag, size, needs_import)
      select ${sourceId}, 'big/0zz/deleted-' || lpad(i::text, 5, '0') || '.txt', '"deleted"', 1, false
      from generate_series(1, ${gone}) as i`);

    const started = Date.now();
    expect((await api.sources.syncNow({ containerId, sourceId })).queued).toBe("now");
    await until(
      async () => (await api.sources.runs({ containerId, sourceId })).length === 2,
      30_000,
      "the run to start",
    );
    await sourceSettled(sourceId, 600_000);
    const [run] = await api.sources.runs({ containerId, sourceId }); // newest first
    expect(run).toMatchObject({ status: "succeeded", listed: PROMISED, added: 0, updated: 0, removed: gone });
    const [{ n }] = (await getDb().execute(
      sql`select count(*)::int as n from ${sourceObjects} where source_id = ${sourceId}`,
    )) as unknown as [{ n: number }];
    expect(n).toBe(PROMISED);
    // 5,000 a step: the removal took three steps of the run.
    const removalSteps = await getDb()
      .selectDistinct({ step: engineAttempts.stepName })
      .from(engineAttempts)
      .innerJoin(engineRuns, eq(engineRuns.id, engineAttempts.runId))
      .where(
        and(
          sql`${engineRuns.event}->'data'->>'sourceId' = ${sourceId}`,
          like(engineAttempts.stepName, "remove part %"),
          gte(engineRuns.createdAt, new Date(started)),
        ),
      );
    expect(removalSteps.map((r) => r.step).sort()).toEqual(["remove part 0", "remove part 1", "remove part 2"]);
    console.info(
      `no-change sync of 100,000 keys with ${gone} removals: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 900_000);

  it("mirrors 150 changed objects the way it mirrors 300 new ones (figures printed, not timed)", async () => {
    const prefix = `churn-${randomUUID().slice(0, 6)}/`;
    const keys = Array.from({ length: 300 }, (_, i) => `${prefix}doc-${String(i).padStart(3, "0")}.md`);
    for (const key of keys)
      await admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: `# ${key}\n\n${"first version ".repeat(40)}`,
          ContentType: "text/markdown",
        }),
      );
    const { container, connector, api } = await sourceWorld({ endpoint: s3.endpoint, testBucket: BUCKET });
    let started = Date.now();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket: BUCKET,
      prefix,
    });
    await sourceSettled(sourceId, 60_000);
    const addSeconds = (Date.now() - started) / 1000;
    for (const key of keys.slice(0, 150))
      await admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: `# ${key}\n\n${"second version ".repeat(40)}`,
          ContentType: "text/markdown",
        }),
      );
    started = Date.now();
    await api.sources.syncNow({ containerId: container.id, sourceId });
    await until(
      async () => (await api.sources.runs({ containerId: container.id, sourceId })).length === 2,
      30_000,
      "the sync to start",
    );
    await sourceSettled(sourceId, 60_000);
    const updateSeconds = (Date.now() - started) / 1000;
    console.info(`300 new objects: ${addSeconds.toFixed(1)} s; 150 changed objects: ${updateSeconds.toFixed(1)} s`);
    const [run] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(run).toMatchObject({ status: "succeeded", added: 0, updated: 150, processed: 150 });
    const changed = await getDb()
      .select({ id: files.id })
      .from(files)
      .where(and(eq(files.sourceId, sourceId), sql`${files.name} < ${keys[150]!}`));
    expect(changed).toHaveLength(150);
  }, 300_000);

  it("fails only the objects it may not read; the connector stays active and the rest are Ready", async () => {
    const prefix = `denied-${randomUUID().slice(0, 6)}/`;
    for (const name of ["a.txt", "b.txt", "secret.txt", "archived.txt"]) {
      await admin.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: prefix + name,
          Body: `content of ${name}`,
          ContentType: "text/plain",
        }),
      );
    }
    const proxy = await startFaultProxy(s3.endpoint, ({ method, path: requestPath }) => {
      if (method !== "GET") return null;
      if (requestPath.endsWith(`${prefix}secret.txt`))
        return { status: 403, code: "AccessDenied", message: "Access Denied" };
      if (requestPath.endsWith(`${prefix}archived.txt`))
        return {
          status: 403,
          code: "InvalidObjectState",
          message: "The operation is not valid for the object's storage class",
        };
      return null;
    });
    try {
      const { container, connector, api } = await sourceWorld({ endpoint: proxy.endpoint, testBucket: BUCKET });
      const { id: sourceId } = await api.sources.attach({
        containerId: container.id,
        connectorId: connector.id,
        bucket: BUCKET,
        prefix,
      });
      await sourceSettled(sourceId, 60_000);
      const mirrored = await getDb().select().from(files).where(eq(files.sourceId, sourceId)).orderBy(files.name);
      expect(mirrored.map((m) => [m.name.slice(prefix.length), m.status])).toEqual([
        ["a.txt", "ready"],
        ["archived.txt", "failed"],
        ["b.txt", "ready"],
        ["secret.txt", "failed"],
      ]);
      expect(mirrored.find((m) => m.name.endsWith("secret.txt"))!.error).toMatch(/access denied/);
      expect(mirrored.find((m) => m.name.endsWith("archived.txt"))!.error).toMatch(/archived storage class/);
      const [after] = await getDb()
        .select({ status: connectors.status })
        .from(connectors)
        .where(eq(connectors.id, connector.id));
      expect(after!.status).toBe("active");
      const [run] = await api.sources.runs({ containerId: container.id, sourceId });
      expect(run).toMatchObject({ status: "succeeded", processed: 2, failed: 2 });
      const [row] = await getDb().select({ status: sources.status }).from(sources).where(eq(sources.id, sourceId));
      expect(row!.status).toBe("synced");
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it("imports large objects under the cap within a fixed memory budget, however many arrive at once", async () => {
    const prefix = `big-bodies-${randomUUID().slice(0, 6)}/`;
    const names = ["a", "b", "c", "d", "e", "f"].map((n) => `${n}.txt`);
    await putLargeObjects(
      names.map((name) => prefix + name),
      40,
      "A line of a long report, about forty bytes.\n",
    );

    const { result: mirrored, growthMb } = await withPeakRssGrowth(() => backfill(prefix, 120_000));
    expect(mirrored.map((m) => [m.name.slice(prefix.length), m.status, m.size])).toEqual(
      names.map((name) => [name, "ready", 40 * 1024 * 1024]),
    );
    console.info(`six 40 MB objects under a 50 MB cap: RSS grew ${growthMb.toFixed(1)} MB during the sync`);
    // Four imports of this connector run at once. Held whole and unbounded, each held a body, its copy while
    // read and its text (~300 MB in all). Streamed, each holds the start of its text, within the budget.
    expect(growthMb).toBeLessThan(BODY_MEMORY_BYTES / (1024 * 1024) + 60);
  }, 180_000);

  it("streams an object larger than the whole body budget into the blob store; memory stays flat", async () => {
    const prefix = `stream-${randomUUID().slice(0, 6)}/`;
    const mb = 200;
    await putLargeObjects([`${prefix}archive.txt`], mb, "A line of a long archive, about forty bytes\n");

    const { result: mirrored, growthMb } = await withFileCap(250 * 1024 * 1024, () =>
      withPeakRssGrowth(() => backfill(prefix, 180_000)),
    );
    expect(mirrored.map((m) => [m.name.slice(prefix.length), m.status, m.size])).toEqual([
      ["archive.txt", "ready", mb * 1024 * 1024],
    ]);
    const copy = path.join(env().dataDir, "blobs", mirrored[0]!.blobKey!);
    expect(fs.statSync(copy).size).toBe(mb * 1024 * 1024);
    const [withText] = await getDb()
      .select({ n: sql<number>`count(*)::int` })
      .from(entries)
      .where(eq(entries.fileId, mirrored[0]!.id));
    expect(withText!.n).toBeGreaterThan(0); // its text was read back from the copy
    console.info(`a 200 MB object under a 250 MB cap: RSS grew ${growthMb.toFixed(1)} MB during the sync`);
    // Held whole, the body and its copy alone were 400 MB.
    expect(growthMb).toBeLessThan(BODY_MEMORY_BYTES / (1024 * 1024));
  }, 240_000);

  it("retries a streamed download cut off mid-body: one ready file, its copy whole, no partial copy left", async () => {
    const prefix = `cut-${randomUUID().slice(0, 6)}/`;
    const mb = 20;
    await putLargeObjects([`${prefix}report.txt`], mb, "A line of a report cut off mid-download\n");
    let cuts = 0;
    const proxy = await startFaultProxy(s3.endpoint, ({ method, path: requestPath }) => {
      if (method !== "GET" || !requestPath.endsWith(`${prefix}report.txt`) || cuts > 0) return null;
      cuts++;
      return { cutAfterBytes: 5 * 1024 * 1024 };
    });
    try {
      const mirrored = await backfill(prefix, 120_000, proxy.endpoint);
      expect(cuts).toBe(1);
      expect(mirrored.map((m) => [m.name.slice(prefix.length), m.status, m.size])).toEqual([
        ["report.txt", "ready", mb * 1024 * 1024],
      ]);
      const blobKey = mirrored[0]!.blobKey!;
      const copies = fs.readdirSync(path.join(env().dataDir, "blobs", path.dirname(blobKey)));
      expect(copies).toEqual([path.basename(blobKey)]); // the cut attempt's copy went with it
      expect(fs.statSync(path.join(env().dataDir, "blobs", blobKey)).size).toBe(mb * 1024 * 1024);
    } finally {
      await proxy.close();
    }
  }, 180_000);

  it("lists an object over the size cap as too large without downloading it; memory stays flat", async () => {
    const prefix = `large-${randomUUID().slice(0, 6)}/`;
    await putLargeObjects([`${prefix}huge.txt`], 60, "a");
    await admin.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}small.txt`, Body: "small", ContentType: "text/plain" }),
    );

    const { result: mirrored, growthMb } = await withPeakRssGrowth(() => backfill(prefix, 60_000));
    expect(mirrored.map((m) => [m.name.slice(prefix.length), m.status, m.blobKey === null])).toEqual([
      ["huge.txt", "failed", true],
      ["small.txt", "ready", false],
    ]);
    expect(mirrored[0]!.error).toMatch(/too large \(60 MB\).*up to 50 MB/);
    const [run] = await getDb().select().from(syncRuns).where(eq(syncRuns.sourceId, mirrored[0]!.sourceId!));
    expect(run).toMatchObject({ status: "succeeded", processed: 1, failed: 1 });
    console.info(`60 MB object over a 50 MB cap: RSS grew ${growthMb.toFixed(1)} MB during the sync`);
    expect(growthMb).toBeLessThan(30);
  }, 120_000);
});
