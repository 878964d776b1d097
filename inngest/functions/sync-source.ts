import { NonRetriableError } from "inngest";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { failRun, finishRun, importBatch, listAndDiffPage, removeMissing, startRun, SyncStop } from "@/server/services/sources/sync";
import { inngest } from "../client";
import { sourceDetached, sourceSyncRequested } from "../events";

/**
 * Runs a step's work. A SyncStop (nothing a retry can fix) is recorded on the source, the run and, for
 * credential failures, the connector, inside the same step, then ends the function without retries.
 */
async function orStop<T>(run: { sourceId: string; runId: string | null }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof SyncStop)) throw error;
    await failRun(getDb(), { ...run, message: error.message, credentialsFailed: error.credentialsFailed });
    throw new NonRetriableError(error.message);
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
    // Retries exhausted (S3 or the database kept failing): the source shows Error. Credential failures never
    // get here as retries; they stop the run at once and are recorded by the run itself.
    onFailure: async ({ event, error, step }) => {
      const { sourceId } = event.data.event.data as { sourceId: string };
      await step.run("record failure", () => failRun(getDb(), { sourceId, runId: null, message: error.message, credentialsFailed: false }));
    },
  },
  async ({ event, step }) => {
    const { sourceId, trigger } = event.data;
    const started = await step.run("start", () => orStop({ sourceId, runId: null }, () => startRun(getDb(), sourceId, trigger)));
    if (!started) return { skipped: "the source is archived" };
    const { runId } = started;
    const maxObjects = env().WIRE_SYNC_MAX_OBJECTS;

    let token: string | null = null;
    let listed = 0;
    let truncated = false;
    for (let page = 0; ; page++) {
      const result = await step.run(`list page ${page}`, () =>
        orStop({ sourceId, runId }, () => listAndDiffPage(getDb(), { sourceId, runId, token, listedSoFar: listed, maxObjects })),
      );
      listed += result.listed;
      truncated = result.truncated;
      token = result.nextToken;
      if (!token) break;
    }
    // A truncated listing saw only part of the prefix: nothing may be removed on its evidence.
    if (!truncated) {
      await step.run("remove missing", () => orStop({ sourceId, runId }, () => removeMissing(getDb(), blobStore(), { sourceId, runId, listedTotal: listed })));
    }
    for (let batch = 0; ; batch++) {
      const result = await step.run(`import batch ${batch}`, () => orStop({ sourceId, runId }, () => importBatch(getDb(), blobStore(), { sourceId, runId })));
      if (!result.remaining) break;
    }
    const finished = await step.run("finish", () => finishRun(getDb(), { sourceId, runId, truncated }));
    if (finished.followUp) await step.sendEvent("follow-up run", sourceSyncRequested.create({ sourceId, trigger: "manual" }));
    return { listed, truncated };
  },
);
