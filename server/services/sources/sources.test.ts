/** Source requests are never left waiting for a run that will not come. */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sources } from "@/db/schema";
import type { EventSender } from "@/inngest/events";
import { recordingEvents } from "@/server/test/events";
import { createConnectorRow, createContainer, createOrg, db, testS3 } from "@/server/test/factories";
import { attachSource, queueDueSources, requestSync } from ".";

const unreachable: EventSender = {
  send: async () => {
    throw new Error("engine unreachable");
  },
};

async function world() {
  const org = await createOrg();
  const [container, connector] = await Promise.all([createContainer(org.id), createConnectorRow(org.id)]);
  return { org, container, connector };
}

describe("queueing sync runs", () => {
  it("shows Error with what to do when the run cannot be queued, and Sync now recovers", async () => {
    const { org, container, connector } = await world();
    const params = { orgId: org.id, containerId: container.id, userId: org.owner.id, connectorId: connector.id, bucket: testS3().bucket, prefix: "reports/" };
    await expect(attachSource(db(), unreachable, params)).rejects.toThrow(/engine unreachable/);
    const [source] = await db().select().from(sources).where(eq(sources.containerId, container.id));
    expect(source).toMatchObject({ status: "error", lastError: "The sync could not be queued. Press Sync now to try again." });

    const events = recordingEvents();
    expect(await requestSync(db(), events, { containerId: container.id, sourceId: source!.id })).toEqual({ queued: "now" });
    expect(events.sent).toEqual([{ name: "wire/source.sync-requested", data: { sourceId: source!.id, trigger: "manual" } }]);
  });

  it("re-queues a source whose requested run never started", async () => {
    const { container, connector } = await world();
    const [source] = await db()
      .insert(sources)
      .values({ containerId: container.id, connectorId: connector.id, bucket: "b", prefix: "", status: "pending", queuedAt: new Date(Date.now() - 11 * 60 * 1000) })
      .returning();
    const events = recordingEvents();
    // A fresh Pending only waits for the current run; a stale one starts again.
    expect(await requestSync(db(), events, { containerId: container.id, sourceId: source!.id })).toEqual({ queued: "now" });
    expect(await requestSync(db(), events, { containerId: container.id, sourceId: source!.id })).toEqual({ queued: "after-current-run" });
    await db().update(sources).set({ queuedAt: new Date(Date.now() - 11 * 60 * 1000) }).where(eq(sources.id, source!.id));
    expect(await queueDueSources(db(), 15)).toContain(source!.id);
  });
});
