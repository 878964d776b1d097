/**
 * Wire's events: names are `wire/<noun>.<past-verb>`, payloads are zod schemas the SDK validates.
 * Services record them through the outbox (inngest/outbox.ts) in the transaction of the change they announce.
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

/** One import batch of a sync run (keys assigned by the run's listing) is to be fetched into the container. */
export const sourceImportRequested = eventType("wire/source.import-requested", {
  schema: z.object({
    sourceId: z.uuid(),
    connectorId: z.uuid(),
    runId: z.uuid(),
    batch: z.number().int().nonnegative(),
  }),
});

/** A source was archived (detached, or its connector disconnected): its files are to be removed. */
export const sourceDetached = eventType("wire/source.detached", {
  schema: z.object({ sourceId: z.uuid(), containerId: z.uuid() }),
});
