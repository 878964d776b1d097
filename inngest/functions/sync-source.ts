import { NonRetriableError } from "inngest";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { failRun, finishRun, importBatch, listAndDiffPage, removeMissing, startRun, SyncStop } from "@/server/services/sources/sync";
import { inngest } from "../client";
import { sourceDetached, sourceSyncRequested } from "../events";

/** Runs a step, turning a SyncStop (nothing a retry can fix) into a NonRetriableError. */
async function orStop<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SyncStop) throw new NonRetriableError(error.message, { cause: error });
    throw error;
  }
}

/**
 * One sync run of a source: backfill, scheduled or manual. One run per source at a time (concurrency key);
 * detaching the source cancels it. Each page of the listing and each import batch is its own step.
 */
export const syncSource = inngest.createFunction(
  {
    id: "sync-source",
    retries: 4,
    concurrency: { limit: 1, key: "event.data.sourceId" },
    cancelOn: [{ event: sourceDetached.name, if: "event.data.sourceId == async.data.sourceId" }],
    triggers: [sourceSyncRequested],
    onFailure: async ({ event, error, step }) => {
      const original = event.data.event.data as { sourceId: string };
      await step.run("record failure", async () => {
        const stop = (error as { cause?: unknown }).cause;
        await failRun(getDb(), {
          sourceId: original.sourceId,
          runId: null,
          message: error.message,
          credentialsFailed: stop instanceof SyncStop ? stop.credentialsFailed : /credential|access key|signature|token|denied/i.test(error.message),
        });
      });
    },
  },
  async ({ event, step }) => {
    const { sourceId, trigger } = event.data;
    const started = await step.run("start", () => orStop(() => startRun(getDb(), sourceId, trigger)));
    if (!started) return { skipped: "the source is archived" };
    const { runId } = started;
    const maxObjects = env().WIRE_SYNC_MAX_OBJECTS;

    try {
      let token: string | null = null;
      let listed = 0;
      let truncated = false;
      for (let page = 0; ; page++) {
        const result = await step.run(`list page ${page}`, () =>
          orStop(() => listAndDiffPage(getDb(), { sourceId, runId, token, listedSoFar: listed, maxObjects })),
        );
        listed += result.listed;
        truncated = result.truncated;
        token = result.nextToken;
        if (!token) break;
      }
      // A truncated listing saw only part of the prefix: nothing may be removed on its evidence.
      if (!truncated) await step.run("remove missing", () => orStop(() => removeMissing(getDb(), blobStore(), { sourceId, runId, listedTotal: listed })));
      for (let batch = 0; ; batch++) {
        const result = await step.run(`import batch ${batch}`, () => orStop(() => importBatch(getDb(), blobStore(), { sourceId, runId })));
        if (!result.remaining) break;
      }
      const finished = await step.run("finish", () => finishRun(getDb(), { sourceId, runId, truncated }));
      if (finished.followUp) await step.sendEvent("follow-up run", sourceSyncRequested.create({ sourceId, trigger: "manual" }));
      return { listed, truncated };
    } catch (error) {
      // Record the run as failed here too (onFailure does not know the run id), then fail the function.
      if (error instanceof NonRetriableError) {
        await step.run("record stop", async () => {
          const stop = error.cause instanceof SyncStop ? error.cause : null;
          await failRun(getDb(), { sourceId, runId, message: error.message, credentialsFailed: stop?.credentialsFailed ?? false });
        });
      }
      throw error;
    }
  },
);
