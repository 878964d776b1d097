/** Source requests are never lost or doubled: the outbox, one running run per source, and stalled runs replaced. */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox, sources, syncRuns } from "@/db/schema";
import { Outbox } from "@/inngest/outbox";
import { recordingEvents } from "@/server/test/events";
import { createConnectorRow, createContainer, createOrg, db, testS3 } from "@/server/test/factories";
import { attachSource, queueDueSources, requestSync, STALLED_RUN_MINUTES } from ".";
import { startRun } from "./runs";

async function world() {
  const org = await createOrg();
  const [container, connector] = await Promise.all([createContainer(org.id), createConnectorRow(org.id)]);
  return { org, container, connector };
}

const outboxRowsFor = async (sourceId: string) =>
  db()
    .select()
    .from(outbox)
    .where(sql`${outbox.event}->'data'->>'sourceId' = ${sourceId}`);

describe("queueing sync runs", () => {
  it("keeps the backfill request in the outbox while the engine is unreachable, and relays it once it answers", async () => {
    const { org, container, connector } = await world();
    const sent: { id?: string; name: string }[] = [];
    let reachable = false;
    const sender = {
      send(events: { id?: string; name: string }[]) {
        if (!reachable) return Promise.reject(new Error("engine unreachable"));
        sent.push(...events);
        return Promise.resolve();
      },
    };
    const events = new Outbox(db(), sender);
    const params = {
      orgId: org.id,
      containerId: container.id,
      userId: org.owner.id,
      connectorId: connector.id,
      bucket: testS3().bucket,
      prefix: "reports/",
    };
    const source = await attachSource(db(), events, params);
    await events.relay();
    expect(await outboxRowsFor(source.id)).toHaveLength(1);
    const [row] = await db().select().from(sources).where(eq(sources.id, source.id));
    expect(row!.status).toBe("pending");

    reachable = true;
    await events.relay();
    expect(await outboxRowsFor(source.id)).toEqual([]);
    expect(sent.filter((e) => e.name === "wire/source.sync-requested").map((e) => e.id)).toHaveLength(1);
    expect(sent[0]!.id).toMatch(/^outbox-\d+$/);
  });

  it("starts one run when two start at once; the other is a no-op that leaves the follow-up flag", async () => {
    const { container, connector } = await world();
    const [source] = await db()
      .insert(sources)
      .values({ containerId: container.id, connectorId: connector.id, bucket: "b", prefix: "" })
      .returning();
    const [a, b] = await Promise.all([startRun(db(), source!.id, "manual"), startRun(db(), source!.id, "schedule")]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const runs = await db().select().from(syncRuns).where(eq(syncRuns.sourceId, source!.id));
    expect(runs.map((r) => r.status)).toEqual(["running"]);
    const [row] = await db().select().from(sources).where(eq(sources.id, source!.id));
    expect(row).toMatchObject({ status: "syncing", followUpRequested: true });
    // The database itself refuses a second running run, whoever tries.
    await expect(db().insert(syncRuns).values({ sourceId: source!.id, trigger: "manual" })).rejects.toThrow();
  });

  it("Sync now replaces a run that stopped reporting, once however often pressed", async () => {
    const { container, connector } = await world();
    const [source] = await db()
      .insert(sources)
      .values({ containerId: container.id, connectorId: connector.id, bucket: "b", prefix: "" })
      .returning();
    const started = await startRun(db(), source!.id, "backfill");
    const events = recordingEvents();
    // A live run: Sync now only asks for a follow-up.
    expect(await requestSync(db(), events, { containerId: container.id, sourceId: source!.id })).toEqual({
      queued: "after-current-run",
    });
    expect(events.sent).toEqual([]);
    // The run stops reporting (its worker died without a word).
    await db()
      .update(syncRuns)
      .set({ updatedAt: new Date(Date.now() - (STALLED_RUN_MINUTES + 1) * 60_000) })
      .where(eq(syncRuns.id, started!.runId));
    const presses = await Promise.all(
      [1, 2, 3].map(() => requestSync(db(), events, { containerId: container.id, sourceId: source!.id })),
    );
    expect(presses.filter((p) => p.queued === "now")).toHaveLength(1);
    expect(events.sent).toEqual([
      { name: "wire/source.sync-requested", data: { sourceId: source!.id, trigger: "manual" } },
    ]);
    const [ghost] = await db().select().from(syncRuns).where(eq(syncRuns.id, started!.runId));
    expect(ghost).toMatchObject({ status: "cancelled" });
    expect(ghost!.error).toMatch(/No progress/);
    expect((await startRun(db(), source!.id, "manual"))?.runId).toBeDefined();
  });

  it("re-queues a source whose requested run never started", async () => {
    const { container, connector } = await world();
    const [source] = await db()
      .insert(sources)
      .values({
        containerId: container.id,
        connectorId: connector.id,
        bucket: "b",
        prefix: "",
        status: "pending",
        queuedAt: new Date(Date.now() - 11 * 60 * 1000),
      })
      .returning();
    const events = recordingEvents();
    // A fresh Pending only waits for the current run; a stale one starts again.
    expect(await requestSync(db(), events, { containerId: container.id, sourceId: source!.id })).toEqual({
      queued: "now",
    });
    expect(await requestSync(db(), events, { containerId: container.id, sourceId: source!.id })).toEqual({
      queued: "after-current-run",
    });
    await db()
      .update(sources)
      .set({ queuedAt: new Date(Date.now() - 11 * 60 * 1000) })
      .where(eq(sources.id, source!.id));
    expect(await queueDueSources(db(), 15)).toContain(source!.id);
  });
});
