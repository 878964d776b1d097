/**
 * Wire's events: names are `wire/<noun>.<past-verb>`, payloads are zod schemas the SDK validates.
 * Send them with `inngest.send(event.create(data))`, or through an `EventSender` where a service needs one.
 */
import { eventType } from "inngest";
import { z } from "zod";

export const containerDeleted = eventType("wire/container.deleted", {
  schema: z.object({ containerId: z.uuid(), orgId: z.uuid() }),
});

/** A connector's credentials were wiped; every source it fed is to be cleaned up (sources work). */
export const connectorDisconnected = eventType("wire/connector.disconnected", {
  schema: z.object({ connectorId: z.uuid(), orgId: z.uuid() }),
});

/** A file's stored copy was written (upload, agent write): the processing pipeline takes it from here. */
export const fileStored = eventType("wire/file.stored", {
  schema: z.object({ fileId: z.uuid(), containerId: z.uuid() }),
});

export const sourceSyncRequested = eventType("wire/source.sync-requested", {
  schema: z.object({ sourceId: z.uuid(), trigger: z.enum(["backfill", "schedule", "manual"]) }),
});

/** A source was archived (detached, or its connector disconnected): its files are to be removed. */
export const sourceDetached = eventType("wire/source.detached", {
  schema: z.object({ sourceId: z.uuid(), containerId: z.uuid() }),
});

/** The part of the Inngest client services use to emit events. */
export interface EventSender {
  send(payload: { name: string; data: Record<string, unknown> }): Promise<unknown>;
}
