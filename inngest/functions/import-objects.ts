import "server-only";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { importBatch } from "@/server/services/sources/imports";
import { failRun, finishIfDrained } from "@/server/services/sources/runs";
import { inngest } from "../client";
import { sourceDetached, sourceImportRequested } from "../events";
import { eventOutbox } from "../outbox";
import { runSyncStep } from "./sync-source";

/** Import batches of one connector's sources in flight at once, across every process (and on Inngest). */
export const IMPORTS_PER_CONNECTOR = 4;

/**
 * Fetches one import batch of a sync run into the container, then ends the run if this was the last part of
 * it. Keyed by connector, so one connector's downloads stay bounded however many sources and processes share it.
 */
export const importObjects = inngest.createFunction(
  {
    id: "import-objects",
    retries: 4,
    concurrency: { limit: IMPORTS_PER_CONNECTOR, key: "event.data.connectorId" },
    cancelOn: [{ event: sourceDetached.name, if: "event.data.sourceId == async.data.sourceId" }],
    triggers: [sourceImportRequested],
    // Retries exhausted (S3 or the database kept failing): the run fails with the reason, the source shows Error.
    onFailure: async ({ event, error, step }) => {
      const { sourceId, runId } = event.data.event.data as { sourceId: string; runId: string };
      await step.run("record failure", () =>
        failRun(getDb(), { sourceId, runId, message: error.message, credentialsFailed: false }),
      );
    },
  },
  async ({ event }) => {
    const { sourceId, runId, batch } = event.data;
    const maxFileBytes = env().WIRE_MAX_FILE_BYTES ?? env().WIRE_MAX_UPLOAD_BYTES;
    // No step: the run is one call of the engine (a step would take a second, to return what it returned, and
    // each call costs ~6 ms of CPU, `npm run bench:engine`). The batch commits before the finish, so a retry
    // after a failed finish re-imports nothing and finishes again.
    const outcome = await runSyncStep({ sourceId, runId }, () =>
      importBatch(getDb(), blobStore(), { sourceId, runId, batch, maxFileBytes }),
    );
    await finishIfDrained(getDb(), eventOutbox(), { sourceId, runId });
    return outcome;
  },
);
