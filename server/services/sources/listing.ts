/**
 * The listing half of a sync run. Pages of up to 1,000 keys under the prefix (the next page is fetched while
 * the current one is compared, also from one step to the next), each compared with the mirror index in SQL:
 * new keys and keys whose ETag changed are handed out in import batches (one import-objects run each, through
 * the outbox); the page's keys go into the run's scratch list of what it saw as one row, and unchanged keys
 * cost nothing else. After a complete listing, keys the run did not see are removed with their files; a
 * truncated or failed listing removes nothing.
 * Only ListObjectsV2 under the prefix reaches the bucket here.
 */
import "server-only";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "@/db/client";
import { files, sourceObjects, syncBatches, syncListedPages, syncRuns } from "@/db/schema";
import { sourceImportRequested } from "@/inngest/events";
import type { EventOutbox } from "@/inngest/outbox";
import type { BlobStore } from "@/server/blobs";
import { deleteDerivedData } from "@/server/processing/pipeline";
import { listPage, type ListedObject, type ListedPage } from "@/server/s3/objects";
import { deleteBlobs, noteBlobsToDelete } from "@/server/blobs/ledger";
import {
  bumpCounters,
  finishIfDrained,
  loadSourceWithConnector,
  runIsRunning,
  SyncStop,
  type SourceWithConnector,
} from "./runs";
import { s3Call, withSourceClient } from "./s3-calls";
import { defined } from "@/server/defined";

/** Pages listed per durable step: a 100,000-object run lists in 10 steps. */
export const PAGES_PER_STEP = 10;
/** An import batch: at most this many objects, and this many listed bytes (big objects get batches of their own). */
export const IMPORT_BATCH_OBJECTS = 100;
export const IMPORT_BATCH_BYTES = 32 * 1024 * 1024;

export interface ListingProgress {
  nextToken: string | null;
  listed: number;
  /** Pages recorded (numbered across the run: the next step's first is pagesSoFar + pages). */
  pages: number;
  truncated: boolean;
}

/**
 * The page after a listing step's last, asked for while that step records its last page and the engine
 * calls the function again: the next step takes it rather than ask S3 again (a 100,000-object run has nine
 * such handovers, each a page's wait). Kept by run, token and page size; one not taken within
 * PREFETCH_TTL_MS (the next step ran in another process, or never ran) is dropped.
 */
const prefetched = new Map<string, Promise<ListedPage>>();
const PREFETCH_TTL_MS = 60_000;

const prefetchKey = (runId: string, token: string, maxKeys: number) => `${runId}\n${maxKeys}\n${token}`;

function keepPrefetched(key: string, page: Promise<ListedPage>) {
  prefetched.set(key, page);
  setTimeout(() => {
    if (prefetched.get(key) === page) prefetched.delete(key);
  }, PREFETCH_TTL_MS).unref();
}

function takePrefetched(key: string): Promise<ListedPage> | undefined {
  const page = prefetched.get(key);
  prefetched.delete(key);
  return page;
}

/** Keys asked for in a page when `room` more fit under the run's cap: one more tells a cut listing from a complete one. */
const pageSizeFor = (room: number) => Math.min(1000, room + 1);

/**
 * Lists up to PAGES_PER_STEP pages from `token`, stopping at the run's object cap. Idempotent: a retry of
 * the step records its pages again under the same numbers and hands out nothing twice.
 */
export async function listPages(
  db: Database,
  events: EventOutbox,
  params: {
    sourceId: string;
    runId: string;
    token: string | null;
    listedSoFar: number;
    pagesSoFar: number;
    maxObjects: number;
    pages?: number;
  },
): Promise<ListingProgress> {
  const row = await loadSourceWithConnector(db, params.sourceId);
  if (!row || row.source.status === "archived" || !(await runIsRunning(db, params.runId)))
    return { nextToken: null, listed: 0, pages: 0, truncated: false };
  return withSourceClient(db, row, "list objects", async (client) => {
    const fetchPage = (token: string | null, maxKeys: number) => {
      const page = s3Call(row, () =>
        listPage(client, { bucket: row.source.bucket, prefix: row.source.prefix, token, maxKeys }),
      );
      page.catch(() => {}); // awaited later; a prefetch that fails must not go unhandled meanwhile
      return page;
    };
    let token = params.token;
    let listed = 0;
    let pages = 0;
    let truncated = false;
    const firstSize = pageSizeFor(params.maxObjects - params.listedSoFar);
    let next: Promise<ListedPage> | null =
      (token ? takePrefetched(prefetchKey(params.runId, token, firstSize)) : undefined) ?? fetchPage(token, firstSize);
    for (let n = 0; next && n < (params.pages ?? PAGES_PER_STEP); n++) {
      const page: ListedPage = await next;
      const room = params.maxObjects - params.listedSoFar - listed;
      truncated = page.objects.length > room || (page.objects.length === room && page.nextToken !== null);
      const objects = page.objects.slice(0, room);
      token = truncated ? null : page.nextToken;
      // The next page travels while this one is compared (after the step's last page, for the next step).
      next = token ? fetchPage(token, pageSizeFor(room - objects.length)) : null;
      if (objects.length) {
        const page = { number: params.pagesSoFar + pages, listedBefore: params.listedSoFar + listed };
        await recordPage(db, events, row, params.runId, page, objects);
        pages++;
      }
      listed += objects.length;
    }
    // The client goes when this step ends; the request in flight does not (the connection pool is shared).
    if (next && token)
      keepPrefetched(
        prefetchKey(params.runId, token, pageSizeFor(params.maxObjects - params.listedSoFar - listed)),
        next,
      );
    return { nextToken: token, listed, pages, truncated };
  });
}

/**
 * Records one listed page: what it saw (one row of the run's scratch list), then what it must import (in
 * batches, each announced through the outbox). A page a retried step lists again replaces its row and
 * counts once (the run's `listed` is where the listing got to, never a sum of attempts); keys already handed
 * out to this run are not handed out again.
 */
async function recordPage(
  db: Database,
  events: EventOutbox,
  row: SourceWithConnector,
  runId: string,
  page: { number: number; listedBefore: number },
  objects: ListedObject[],
) {
  const sourceId = row.source.id;
  // One statement (no transaction of its own): most pages of a no-change sync cost only this. Keys and ETags
  // travel as pairs, the rest of what was listed stays here until a key turns out to need importing.
  const [seen] = await db.execute<{ changed: [string, boolean][] }>(sql`
    with incoming as (
      select e->>0 as key, e->>1 as etag from jsonb_array_elements(${JSON.stringify(objects.map((o) => [o.key, o.etag]))}::jsonb) e
    ),
    seen as (
      insert into ${syncListedPages} (run_id, page, listed, keys)
      select ${runId}, ${page.number}, ${objects.length}, array(select key from incoming)
      on conflict (run_id, page) do update set listed = excluded.listed, keys = excluded.keys
    ),
    counted as (
      update ${syncRuns} set listed = greatest(listed, ${page.listedBefore + objects.length}), updated_at = now(), error = null
      where id = ${runId} and status = 'running'
    )
    select coalesce(json_agg(json_build_array(i.key, o.key is null) order by i.key), '[]') as changed
    from incoming i left join ${sourceObjects} o on o.source_id = ${sourceId} and o.key = i.key
    where o.key is null or o.etag <> i.etag or (o.needs_import and o.import_run_id is distinct from ${runId})`);
  if (!seen?.changed.length) return;
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const changed = seen.changed.map(([key, isNew]): ChangedObject => {
    const object = defined(byKey.get(key), `the listed object ${key}`);
    return { key, etag: object.etag, size: object.size, last_modified: object.lastModified, is_new: isNew };
  });
  const batches = splitIntoBatches(changed);
  await db.transaction(async (tx) => {
    const [run] = await tx
      .update(syncRuns)
      .set({ batches: sql`${syncRuns.batches} + ${batches.length}` })
      .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, "running")))
      .returning({ batches: syncRuns.batches });
    if (!run) return; // cancelled meanwhile: nothing to hand out
    const first = run.batches - batches.length;
    const assigned = batches.flatMap((batch, i) => batch.map((o) => ({ ...o, batch: first + i })));
    // Handed out to this run: a retried step that lists these keys again finds them so and skips them.
    await tx.execute(sql`
      insert into ${sourceObjects} (source_id, key, etag, size, last_modified, needs_import, import_run_id, import_batch)
      select ${sourceId}, key, etag, size, last_modified, true, ${runId}, batch
      from jsonb_to_recordset(${JSON.stringify(assigned)}::jsonb) as x(key text, etag text, size bigint, last_modified timestamptz, batch int)
      on conflict (source_id, key) do update set
        etag = excluded.etag, size = excluded.size, last_modified = excluded.last_modified,
        needs_import = true, import_run_id = excluded.import_run_id, import_batch = excluded.import_batch`);
    await tx
      .insert(syncBatches)
      .values(batches.map((batch, i) => ({ runId, batch: first + i, objects: batch.length })));
    await events.record(
      tx,
      batches.map((_, i) =>
        sourceImportRequested.create(
          { sourceId, connectorId: row.connector.id, runId, batch: first + i },
          { id: `import-${runId}-${first + i}` },
        ),
      ),
    );
    await bumpCounters(tx, runId, {
      added: changed.filter((c) => c.is_new).length,
      updated: changed.filter((c) => !c.is_new).length,
    });
  });
  void events.flush(); // the imports start as soon as the engine has them; the relay retries what fails
}

/** A listed key that is new to the mirror or changed since it was imported. */
interface ChangedObject {
  key: string;
  etag: string;
  size: number;
  last_modified: string | null;
  is_new: boolean;
}

/** Consecutive keys, at most IMPORT_BATCH_OBJECTS and IMPORT_BATCH_BYTES of listed size a batch. */
export function splitIntoBatches<T extends { size: number }>(objects: T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const object of objects) {
    if (current.length && (current.length >= IMPORT_BATCH_OBJECTS || bytes + object.size > IMPORT_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(object);
    bytes += object.size;
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * After a complete listing: removes up to `limit` keys the run did not see, with their files, entries,
 * embeddings and stored copies. Refuses (nothing removed) a listing that came back empty for a source that
 * has files, and a listing whose record of what it saw is not whole (the scratch list lost in a crash).
 */
export async function removeMissing(
  db: Database,
  blobs: BlobStore,
  params: { sourceId: string; runId: string; listedTotal: number; pagesTotal: number; limit?: number },
): Promise<{ removed: number; remaining: boolean }> {
  if (!(await runIsRunning(db, params.runId))) return { removed: 0, remaining: false };
  // Pages past the last one are an earlier attempt's of the last step, which listed further than its retry.
  const pages = sql`${syncListedPages.runId} = ${params.runId} and ${syncListedPages.page} < ${params.pagesTotal}`;
  const [{ staged } = { staged: 0 }] = await db.execute<{ staged: number }>(
    sql`select coalesce(sum(${syncListedPages.listed}), 0)::int as staged from ${syncListedPages} where ${pages}`,
  );
  if (staged !== params.listedTotal) {
    throw new SyncStop(
      `This sync lost track of part of its listing (${staged} of ${params.listedTotal} keys). Nothing was removed; the next sync will try again.`,
    );
  }
  const [{ mirrored } = { mirrored: 0 }] = await db
    .select({ mirrored: sql<number>`count(*)::int` })
    .from(sourceObjects)
    .where(eq(sourceObjects.sourceId, params.sourceId));
  if (params.listedTotal === 0 && mirrored > 0) {
    throw new SyncStop(
      `The bucket listing came back empty, but this source has ${mirrored} files. Nothing was removed. If the prefix really is empty now, detach the source.`,
    );
  }
  // Every key the run listed is in the mirror (new ones went in as they were listed), so equal counts mean
  // nothing is missing: a no-change sync of 100,000 keys skips the difference below (~100 ms).
  if (mirrored === staged) return { removed: 0, remaining: false };
  const limit = params.limit ?? 5000;
  let removed = 0;
  while (removed < limit) {
    // A set difference (hashed), never a probe of the listed keys per mirror row.
    const gone = await db.execute<{ key: string; file_id: string | null }>(sql`
      with gone as (
        select key from ${sourceObjects} where source_id = ${params.sourceId}
        except
        select unnest(${syncListedPages.keys}) from ${syncListedPages} where ${pages}
      )
      select o.key, o.file_id from ${sourceObjects} o
      where o.source_id = ${params.sourceId} and o.key in (select key from gone limit ${Math.min(1000, limit - removed)})`);
    if (!gone.length) return { removed, remaining: false };
    const blobKeys = await db.transaction(async (tx) => {
      if (!(await bumpCounters(tx, params.runId, { removed: gone.length }))) return null; // cancelled meanwhile
      const fileIds = gone.map((g) => g.file_id).filter((id): id is string => id !== null);
      await deleteDerivedData(tx, fileIds);
      const deleted = fileIds.length
        ? await tx
            .delete(files)
            .where(and(inArray(files.id, fileIds), eq(files.sourceId, params.sourceId)))
            .returning({ blobKey: files.blobKey })
        : [];
      await tx.delete(sourceObjects).where(
        and(
          eq(sourceObjects.sourceId, params.sourceId),
          inArray(
            sourceObjects.key,
            gone.map((g) => g.key),
          ),
        ),
      );
      const keys = deleted.map((d) => d.blobKey).filter((k): k is string => k !== null);
      await noteBlobsToDelete(tx, keys);
      return keys;
    });
    if (!blobKeys) return { removed, remaining: false };
    await deleteBlobs(db, blobs, blobKeys);
    removed += gone.length;
  }
  return { removed, remaining: true };
}

/**
 * The listing is over: its count is set to what the run listed (the count kept while listing is how far it got,
 * which an attempt that listed further than its retry leaves high), the run ends here if its imports are done
 * already, then its scratch list goes.
 */
export async function completeListing(
  db: Database,
  events: EventOutbox,
  params: { sourceId: string; runId: string; listed: number; truncated: boolean },
) {
  await db
    .update(syncRuns)
    .set({ listingDone: true, listed: params.listed, truncated: params.truncated, updatedAt: new Date() })
    .where(and(eq(syncRuns.id, params.runId), eq(syncRuns.status, "running")));
  await finishIfDrained(db, events, params);
  await db.delete(syncListedPages).where(eq(syncListedPages.runId, params.runId));
}

/** Scratch lists of runs that ended without finishing their listing (failed, cancelled): reconcile's to remove. */
export async function removeStaleScratchLists(db: Database): Promise<number> {
  const deleted = await db.execute(sql`
    delete from ${syncListedPages} p
    where not exists (select 1 from ${syncRuns} r where r.id = p.run_id and r.status = 'running')`);
  return deleted.count;
}
