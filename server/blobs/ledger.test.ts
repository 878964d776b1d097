/** The blob ledger and reconcile: what a crash leaves between a stored copy and its row is found and finished. */
import { randomUUID } from "node:crypto";
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { blobLedger, files, sources } from "@/db/schema";
import { sourcesLeftToClean } from "@/server/services/sources/cleanup";
import { createConnectorRow, createContainer, createOrg, db, tempBlobStore } from "@/server/test/factories";
import { noteBlobsToDelete, noteBlobsWriting, reconcileBlobs } from "./ledger";

describe("reconcile", () => {
  it("deletes copies no file points to (written and never committed, or noted for deletion), and only forgets referenced ones", async () => {
    const { store } = tempBlobStore();
    const org = await createOrg();
    const container = await createContainer(org.id);
    const key = (name: string) => `containers/${container.id}/${name}-${randomUUID()}`;
    const [orphan, fresh, kept, doomed] = [key("orphan"), key("fresh"), key("kept"), key("doomed")];
    for (const k of [orphan, fresh, kept, doomed]) await store.put(k, new TextEncoder().encode(k));
    await noteBlobsWriting(db(), [orphan, fresh, kept]);
    await noteBlobsToDelete(db(), [doomed]);
    await db().insert(files).values({
      containerId: container.id,
      name: "kept.txt",
      origin: "upload",
      contentType: "text/plain",
      size: 1,
      blobKey: kept,
    });
    // The orphan and the kept copy were noted an hour ago; the fresh one is an import still in flight.
    await db()
      .update(blobLedger)
      .set({ createdAt: sql`now() - interval '1 hour'` })
      .where(inArray(blobLedger.key, [orphan, kept]));

    await reconcileBlobs(db(), store, { writingGraceMs: 10 * 60_000 });
    expect(await Promise.all([orphan, fresh, kept, doomed].map((k) => store.exists(k)))).toEqual([
      false,
      true,
      true,
      false,
    ]);
    const left = await db()
      .select({ key: blobLedger.key })
      .from(blobLedger)
      .where(inArray(blobLedger.key, [orphan, fresh, kept, doomed]));
    expect(left.map((l) => l.key)).toEqual([fresh]);
  });

  it("finds archived sources that still hold files once their cleanup had time to run", async () => {
    const org = await createOrg();
    const [container, connector] = await Promise.all([createContainer(org.id), createConnectorRow(org.id)]);
    const insert = async (archivedMinutesAgo: number | null) => {
      const [source] = await db()
        .insert(sources)
        .values({
          containerId: container.id,
          connectorId: connector.id,
          bucket: "b",
          prefix: `p-${randomUUID().slice(0, 6)}/`,
          status: archivedMinutesAgo === null ? "synced" : "archived",
          archivedAt: archivedMinutesAgo === null ? null : new Date(Date.now() - archivedMinutesAgo * 60_000),
        })
        .returning();
      await db()
        .insert(files)
        .values({
          containerId: container.id,
          name: `${source!.prefix}a.txt`,
          origin: "connector",
          sourceId: source!.id,
          contentType: "text/plain",
          size: 1,
          blobKey: null,
        });
      return source!.id;
    };
    const [stale, recent, live] = [await insert(30), await insert(1), await insert(null)];
    const found = (await sourcesLeftToClean(db(), 10)).map((s) => s.id);
    expect(found).toContain(stale);
    expect(found).not.toContain(recent);
    expect(found).not.toContain(live);
    await db().delete(files).where(eq(files.sourceId, stale));
    expect((await sourcesLeftToClean(db(), 10)).map((s) => s.id)).not.toContain(stale);
  });
});
