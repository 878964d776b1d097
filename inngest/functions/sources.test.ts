/**
 * Sources end to end through the app's own functions and the real embedded engine, against a real S3
 * server (s3rver): backfill with awkward keys, add/change/remove then sync, files of other origins
 * untouched, overlapping sources kept apart, detach removing everything, disconnect cascading, and the
 * S3 request log showing only listing under the prefix and reads of listed keys.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "@/inngest/engine";
import type { S3RequestRecord } from "@/server/s3/request-log";
import { freePort } from "@/server/test/global-setup";
import { s3AdminClient } from "@/server/test/s3-admin";
import { switchToOwnDatabase } from "@/server/test/databases";

// The app's Inngest client reads its engine port when first imported: give this file an engine of its own,
// and a database of its own for it.
process.env.WIRE_ENGINE_PORT = String(await freePort());
const database = await switchToOwnDatabase("sources");
// A small per-run object cap stands in for the real 100,000 so truncation can be tested.
const CAP = 12;
process.env.WIRE_SYNC_MAX_OBJECTS = String(CAP);

const { getDb } = await import("@/db/client");
const schema = await import("@/db/schema");
const { until } = await import("@/inngest/engine/test/harness");
const { startAppWithEngine } = await import("./test/app-with-engine");
const { sourceSettled, sourceWorld } = await import("./test/source-world");
const { eventOutbox } = await import("@/inngest/outbox");
const { blobStore } = await import("@/server/blobs");
const { onS3Request } = await import("@/server/s3/request-log");
const f = await import("@/server/test/factories");

const { files, entries, embeddings, sources, sourceObjects, connectors } = schema;
const s3 = f.testS3();
const bucket = `sync-${randomUUID().slice(0, 8)}`;
const admin = s3AdminClient(s3.endpoint);
const put = (key: string, body: string) =>
  admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "text/plain" }));
const remove = (key: string) => admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));

let engine: Engine;
let stopApp: () => Promise<void>;
const requests: S3RequestRecord[] = [];
let stopLog: () => void;

beforeAll(async () => {
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  const started = await startAppWithEngine();
  engine = started.engine;
  stopApp = started.stop;
  // Wire's own S3 calls (not the test's setup client above).
  stopLog = onS3Request((r) => r.bucket === bucket && requests.push(r));
}, 60_000);

afterAll(async () => {
  stopLog?.();
  await stopApp?.();
  admin.destroy();
  await database.drop();
});

const filesOf = (containerId: string) =>
  getDb().select().from(files).where(eq(files.containerId, containerId)).orderBy(files.name);

describe("sources", () => {
  it("backfills a nested prefix with awkward keys, then mirrors adds, changes and removals on Sync now", async () => {
    const prefix = `backfill-${randomUUID().slice(0, 6)}/`;
    const keys = ["a.txt", "with space.txt", "ünïcödé.md", "plus+sign.txt", "deep/er/still/deeper.txt"].map(
      (k) => prefix + k,
    );
    for (const key of keys) await put(key, `content of ${key}`);
    await put("outside/never.txt", "not under the prefix");
    const { container, connector, api } = await sourceWorld();
    const upload = await f.uploadFile(container.id, {
      name: "mine.txt",
      body: "uploaded by a person",
      blobs: blobStore(),
    });

    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    let mirrored = (await filesOf(container.id)).filter((x) => x.sourceId === sourceId);
    expect(mirrored.map((x) => x.name).sort()).toEqual([...keys].sort());
    expect(mirrored.every((x) => x.origin === "connector" && x.status === "ready")).toBe(true);
    const before = new Map(mirrored.map((x) => [x.name, x]));
    const [entryCount] = await getDb()
      .select({ n: sql<number>`count(*)::int` })
      .from(entries)
      .where(
        inArray(
          entries.fileId,
          mirrored.map((x) => x.id),
        ),
      );
    expect(entryCount!.n).toBeGreaterThanOrEqual(keys.length);

    // Change one, remove one, add one at the source; then Sync now.
    await put(keys[0]!, "changed content of a.txt");
    await remove(keys[1]!);
    await put(`${prefix}new.txt`, "brand new");
    const queued = await api.sources.syncNow({ containerId: container.id, sourceId });
    expect(queued.queued).toBe("now");
    await sourceSettled(sourceId);
    mirrored = (await filesOf(container.id)).filter((x) => x.sourceId === sourceId);
    expect(mirrored.map((x) => x.name).sort()).toEqual(
      [...keys.filter((k) => k !== keys[1]), `${prefix}new.txt`].sort(),
    );
    const changed = mirrored.find((x) => x.name === keys[0])!;
    expect(changed.id).toBe(before.get(keys[0]!)!.id); // same identity, new content
    expect(changed.blobKey).not.toBe(before.get(keys[0]!)!.blobKey);
    expect((await blobStore().get(changed.blobKey!)).toString()).toBe("changed content of a.txt");
    expect(await blobStore().exists(before.get(keys[0]!)!.blobKey!)).toBe(false);
    expect(await blobStore().exists(before.get(keys[1]!)!.blobKey!)).toBe(false);

    // The person's upload was never touched.
    const [still] = await getDb().select().from(files).where(eq(files.id, upload.id));
    expect(still).toMatchObject({ name: "mine.txt", origin: "upload", blobKey: upload.blobKey });

    const runs = await api.sources.runs({ containerId: container.id, sourceId });
    expect(runs.map((r) => [r.trigger, r.status])).toEqual([
      ["manual", "succeeded"],
      ["backfill", "succeeded"],
    ]);
    expect(runs[0]).toMatchObject({ listed: 5, added: 1, updated: 1, removed: 1, failed: 0, truncated: false });

    // Only ListObjectsV2 under the prefix and GetObject of listed keys under it (HeadBucket from the attach check).
    const operations = new Set(requests.map((r) => r.operation));
    expect([...operations].sort()).toEqual(["GetObject", "HeadBucket", "ListObjectsV2"]);
    for (const r of requests) {
      if (r.operation === "ListObjectsV2") expect(r.prefix).toBe(prefix);
      if (r.operation === "GetObject") expect(r.key!.startsWith(prefix)).toBe(true);
    }
  }, 60_000);

  it("refuses an overlapping source of the same bucket, keeps two side by side apart, and detach removes only its own files", async () => {
    const prefix = `overlap-${randomUUID().slice(0, 6)}/`;
    for (const key of ["top/x.txt", "top/z.txt", "sub/y.txt"]) await put(prefix + key, `body ${key}`);
    const { container, connector, api } = await sourceWorld();
    const wide = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix: `${prefix}top/`,
    });
    const narrow = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix: `${prefix}sub/`,
    });
    // One name, one file: a source whose prefix contains (or is contained in) another's of the same bucket is refused.
    await expect(
      api.sources.attach({ containerId: container.id, connectorId: connector.id, bucket, prefix }),
    ).rejects.toThrow(new RegExp(`overlaps the source ${bucket}/${prefix}top/`));
    await sourceSettled(wide.id);
    await sourceSettled(narrow.id);
    const all = await filesOf(container.id);
    expect(all.filter((x) => x.sourceId === wide.id)).toHaveLength(2);
    expect(all.filter((x) => x.sourceId === narrow.id)).toHaveLength(1);

    const narrowFiles = all.filter((x) => x.sourceId === narrow.id);
    const narrowEntryIds = (
      await getDb()
        .select({ id: entries.id })
        .from(entries)
        .where(
          inArray(
            entries.fileId,
            narrowFiles.map((x) => x.id),
          ),
        )
    ).map((e) => e.id);
    expect(narrowEntryIds.length).toBeGreaterThan(0);
    await api.sources.detach({ containerId: container.id, sourceId: narrow.id });
    expect((await api.sources.list({ containerId: container.id })).map((s) => s.id)).toEqual([wide.id]);
    await until(
      async () => (await filesOf(container.id)).every((x) => x.sourceId !== narrow.id),
      20_000,
      "the detached source's files to go",
    );
    expect((await filesOf(container.id)).filter((x) => x.sourceId === wide.id)).toHaveLength(2);
    for (const file of narrowFiles) expect(await blobStore().exists(file.blobKey!)).toBe(false);
    const [left] = await getDb()
      .select({ n: sql<number>`count(*)::int` })
      .from(entries)
      .where(
        inArray(
          entries.fileId,
          narrowFiles.map((x) => x.id),
        ),
      );
    expect(left!.n).toBe(0);
    const [vectors] = await getDb()
      .select({ n: sql<number>`count(*)::int` })
      .from(embeddings)
      .where(inArray(embeddings.entryId, narrowEntryIds));
    expect(vectors!.n).toBe(0);
    const [objects] = await getDb()
      .select({ n: sql<number>`count(*)::int` })
      .from(sourceObjects)
      .where(eq(sourceObjects.sourceId, narrow.id));
    expect(objects!.n).toBe(0);
  }, 60_000);

  it("disconnecting a connector cleans every container it fed", async () => {
    const prefix = `cascade-${randomUUID().slice(0, 6)}/`;
    await put(`${prefix}shared.txt`, "shared");
    const org = await f.createOrg();
    const [one, two] = await Promise.all([f.createContainer(org.id), f.createContainer(org.id)]);
    const connector = await f.createConnectorRow(org.id);
    const api = f.callerFor(org.owner, { events: eventOutbox() });
    const a = await api.sources.attach({ containerId: one.id, connectorId: connector.id, bucket, prefix });
    const b = await api.sources.attach({ containerId: two.id, connectorId: connector.id, bucket, prefix });
    await sourceSettled(a.id);
    await sourceSettled(b.id);
    expect((await filesOf(one.id)).length + (await filesOf(two.id)).length).toBe(2);
    await api.connectors.disconnect({ orgId: org.id, connectorId: connector.id });
    await until(
      async () => (await filesOf(one.id)).length === 0 && (await filesOf(two.id)).length === 0,
      20_000,
      "both containers to be cleaned",
    );
    const states = await getDb()
      .select({ status: sources.status })
      .from(sources)
      .where(inArray(sources.id, [a.id, b.id]));
    expect(states.map((s) => s.status)).toEqual(["archived", "archived"]);
  }, 60_000);

  it("an authentication failure during a sync shows Error and flips the connector to invalid credentials", async () => {
    const prefix = `auth-${randomUUID().slice(0, 6)}/`;
    await put(`${prefix}a.txt`, "a");
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    const { sealCredentials } = await import("@/server/services/connectors/credentials");
    await getDb()
      .update(connectors)
      .set({
        sealedCredentials: await sealCredentials(connector, { accessKeyId: "ROTATED-AWAY", secretAccessKey: "x" }),
      })
      .where(eq(connectors.id, connector.id));
    await api.sources.syncNow({ containerId: container.id, sourceId });
    await until(
      async () =>
        (await getDb().select({ s: sources.status }).from(sources).where(eq(sources.id, sourceId)))[0]!.s === "error",
      20_000,
      "the Error state",
    );
    const [source] = await getDb().select().from(sources).where(eq(sources.id, sourceId));
    expect(source!.lastError).toMatch(/access key/i);
    const [after] = await getDb()
      .select()
      .from(connectors)
      .where(and(eq(connectors.id, connector.id)));
    expect(after!.status).toBe("invalid_credentials");
    // Nothing was removed on the evidence of a failed listing.
    expect((await filesOf(container.id)).filter((x) => x.sourceId === sourceId)).toHaveLength(1);
  }, 60_000);

  it("coalesces 20 Sync now presses during a run into exactly one follow-up run, never two at once", async () => {
    const prefix = `coalesce-${randomUUID().slice(0, 6)}/`;
    for (let i = 0; i < 10; i++) await put(`${prefix}f${i}.txt`, `file ${i}`);
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await until(
      async () =>
        (await getDb().select({ s: sources.status }).from(sources).where(eq(sources.id, sourceId)))[0]!.s === "syncing",
      10_000,
      "the backfill to start",
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => api.sources.syncNow({ containerId: container.id, sourceId })),
    );
    expect(answers.filter((a) => a.queued === "now").length).toBeLessThanOrEqual(1);
    // A stray extra run could only come from an event not relayed yet: wait until none is left for this
    // source, then until whatever it started has settled too.
    await sourceSettled(sourceId);
    await expect
      .poll(async () => {
        const [{ n }] = (await getDb().execute(
          sql`select count(*)::int as n from outbox where event->'data'->>'sourceId' = ${sourceId}`,
        )) as unknown as [{ n: number }];
        return n;
      })
      .toBe(0);
    await sourceSettled(sourceId);
    const runs = await api.sources.runs({ containerId: container.id, sourceId });
    expect(runs.map((r) => r.trigger).sort()).toEqual(["backfill", "manual"]);
    const [late, early] = runs;
    expect(late!.startedAt.getTime()).toBeGreaterThanOrEqual(early!.finishedAt!.getTime());
  }, 60_000);

  it("stops a run at the object cap, keeps what it listed, removes nothing and says to split the prefix", async () => {
    const prefix = `cap-${randomUUID().slice(0, 6)}/`;
    for (let i = 0; i < CAP + 3; i++) await put(`${prefix}${String(i).padStart(2, "0")}.txt`, `n${i}`);
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    const [run] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(run).toMatchObject({ status: "succeeded", truncated: true, listed: CAP, removed: 0 });
    const mirrored = (await filesOf(container.id)).filter((x) => x.sourceId === sourceId);
    expect(mirrored).toHaveLength(CAP);

    // Next run: whatever this listing misses must not be taken as deleted.
    await api.sources.syncNow({ containerId: container.id, sourceId });
    await sourceSettled(sourceId);
    expect((await filesOf(container.id)).filter((x) => x.sourceId === sourceId)).toHaveLength(CAP);
    const [second] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(second).toMatchObject({ truncated: true, removed: 0 });
  }, 60_000);

  it("a detach racing with the backfill leaves no file of the source behind", async () => {
    const prefix = `race-${randomUUID().slice(0, 6)}/`;
    for (let i = 0; i < 11; i++) await put(`${prefix}r${i}.txt`, `race ${i}`);
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await until(
      async () => (await filesOf(container.id)).some((x) => x.sourceId === sourceId),
      10_000,
      "the first file to land",
    );
    await api.sources.detach({ containerId: container.id, sourceId });
    await until(
      async () => {
        const [{ n }] = (await getDb().execute(
          sql`select count(*)::int as n from engine_runs where status in ('queued','running')`,
        )) as unknown as [{ n: number }];
        return n === 0;
      },
      20_000,
      "all runs to end",
    );
    expect((await filesOf(container.id)).filter((x) => x.sourceId === sourceId)).toEqual([]);
    const [objects] = await getDb()
      .select({ n: sql<number>`count(*)::int` })
      .from(sourceObjects)
      .where(eq(sourceObjects.sourceId, sourceId));
    expect(objects!.n).toBe(0);
  }, 60_000);

  it("Sync now brings a source whose run was lost (no engine run behind it, no progress) back to Synced", async () => {
    const prefix = `ghost-${randomUUID().slice(0, 6)}/`;
    await put(`${prefix}a.txt`, "a");
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    // A run that will never progress: the source says Syncing, the run row says running, no engine run exists.
    const [ghost] = await getDb()
      .insert(schema.syncRuns)
      .values({ sourceId, trigger: "manual", updatedAt: new Date(Date.now() - 11 * 60_000) })
      .returning();
    await getDb().update(sources).set({ status: "syncing" }).where(eq(sources.id, sourceId));
    await put(`${prefix}b.txt`, "b");

    expect((await api.sources.syncNow({ containerId: container.id, sourceId })).queued).toBe("now");
    await sourceSettled(sourceId);
    const [row] = await getDb().select({ status: sources.status }).from(sources).where(eq(sources.id, sourceId));
    expect(row!.status).toBe("synced");
    const runs = await api.sources.runs({ containerId: container.id, sourceId });
    expect(runs.find((r) => r.id === ghost!.id)).toMatchObject({ status: "cancelled" });
    expect(runs[0]).toMatchObject({ status: "succeeded", trigger: "manual", added: 1 });
    expect((await filesOf(container.id)).filter((x) => x.sourceId === sourceId)).toHaveLength(2);
  }, 60_000);

  it("treats an empty listing for a source that had files as an error, not a purge", async () => {
    const prefix = `empty-${randomUUID().slice(0, 6)}/`;
    await put(`${prefix}one.txt`, "1");
    await put(`${prefix}two.txt`, "2");
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    await remove(`${prefix}one.txt`);
    await remove(`${prefix}two.txt`);
    await api.sources.syncNow({ containerId: container.id, sourceId });
    await sourceSettled(sourceId);
    const [source] = await getDb().select().from(sources).where(eq(sources.id, sourceId));
    expect(source).toMatchObject({ status: "error" });
    expect(source!.lastError).toMatch(/listing came back empty.*Nothing was removed/);
    expect((await filesOf(container.id)).filter((x) => x.sourceId === sourceId)).toHaveLength(2);
  }, 60_000);

  it("keeps uploads and agent writes through syncs and detach", async () => {
    const prefix = `others-${randomUUID().slice(0, 6)}/`;
    await put(`${prefix}same-name.txt`, "from the bucket");
    const { container, connector, api } = await sourceWorld();
    const { writeFile } = await import("@/server/services/files");
    const { recordingEvents } = await import("@/server/test/events");
    const agentFile = await writeFile(
      getDb(),
      { blobs: blobStore(), events: recordingEvents() },
      {
        containerId: container.id,
        name: `${prefix}same-name.txt`,
        contentType: "text/plain",
        body: new TextEncoder().encode("written by an agent"),
        origin: "agent",
        createdBy: null,
        maxBytes: 1024,
      },
    );
    const upload = await f.uploadFile(container.id, { name: "by-hand.txt", blobs: blobStore() });
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    // Same name, separate files: the connector never takes over what an agent wrote.
    expect((await filesOf(container.id)).map((x) => `${x.origin}:${x.name}`).sort()).toEqual([
      `agent:${prefix}same-name.txt`,
      `connector:${prefix}same-name.txt`,
      "upload:by-hand.txt",
    ]);
    // Now that a source mirrors the name, writing it again is refused, naming the source.
    await expect(
      writeFile(
        getDb(),
        { blobs: blobStore(), events: recordingEvents() },
        {
          containerId: container.id,
          name: `${prefix}same-name.txt`,
          contentType: "text/plain",
          body: new TextEncoder().encode("again"),
          origin: "agent",
          createdBy: null,
          maxBytes: 1024,
        },
      ),
    ).rejects.toThrow(new RegExp(`mirrored from the source ${bucket}/${prefix}`));
    await api.sources.detach({ containerId: container.id, sourceId });
    await until(
      async () => (await filesOf(container.id)).every((x) => x.sourceId !== sourceId),
      20_000,
      "the source's files to go",
    );
    const left = await filesOf(container.id);
    expect(left.map((x) => x.id).sort()).toEqual([agentFile.id, upload.id].sort());
    expect((await blobStore().get(agentFile.blobKey!)).toString()).toBe("written by an agent");
  }, 60_000);

  it("syncs sources on the cadence with no user action", async () => {
    const prefix = `cadence-${randomUUID().slice(0, 6)}/`;
    await put(`${prefix}a.txt`, "a");
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    await put(`${prefix}b.txt`, "b");
    // Last synced longer ago than the cadence, and the scheduler's minute has come.
    const anHourAgo = new Date(Date.now() - 60 * 60 * 1000);
    await getDb().update(sources).set({ lastSyncedAt: anHourAgo }).where(eq(sources.id, sourceId));
    await getDb().update(schema.syncRuns).set({ startedAt: anHourAgo }).where(eq(schema.syncRuns.sourceId, sourceId));
    await getDb().execute(
      sql`update engine_schedules set next_at = now() - interval '1 second' where function_id like '%schedule-syncs'`,
    );
    await engine.sync(); // schedules change through registration, which re-arms every process's cron timer
    await until(
      async () => (await filesOf(container.id)).filter((x) => x.sourceId === sourceId).length === 2,
      20_000,
      "the scheduled sync",
    );
    await sourceSettled(sourceId);
    const runs = await api.sources.runs({ containerId: container.id, sourceId });
    expect(runs.map((r) => r.trigger)).toEqual(["schedule", "backfill"]);
  }, 60_000);

  it("lists a file that failed processing with its reason, and retries it", async () => {
    const prefix = `broken-${randomUUID().slice(0, 6)}/`;
    await admin.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}scan.pdf`,
        Body: "not really a pdf",
        ContentType: "application/pdf",
      }),
    );
    await put(`${prefix}fine.txt`, "fine");
    const { container, connector, api } = await sourceWorld();
    const { id: sourceId } = await api.sources.attach({
      containerId: container.id,
      connectorId: connector.id,
      bucket,
      prefix,
    });
    await sourceSettled(sourceId);
    const [run] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(run).toMatchObject({ status: "succeeded", failed: 1 });
    const failed = await api.sources.failedFiles({ containerId: container.id, sourceId });
    expect(failed.map((x) => x.name)).toEqual([`${prefix}scan.pdf`]);
    expect(failed[0]!.error).toMatch(/PDF/);
    // A connector file is retried by reading it again from the bucket, in a sync started now.
    await api.files.retry({ containerId: container.id, fileId: failed[0]!.id });
    await until(
      async () => (await api.sources.runs({ containerId: container.id, sourceId })).length === 2,
      20_000,
      "the retry's sync to start",
    );
    await sourceSettled(sourceId);
    const [retry] = await api.sources.runs({ containerId: container.id, sourceId });
    expect(retry).toMatchObject({ status: "succeeded", trigger: "manual", listed: 2, processed: 0, failed: 1 });
    const [still] = await getDb()
      .select({ id: files.id, status: files.status })
      .from(files)
      .where(eq(files.name, `${prefix}scan.pdf`));
    expect(still).toEqual({ id: failed[0]!.id, status: "failed" });
  }, 60_000);
});
