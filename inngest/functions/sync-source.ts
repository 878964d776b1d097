import "server-only";
import { NonRetriableError } from "inngest";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { env } from "@/server/env";
import { completeListing, listPages, removeMissing } from "@/server/services/sources/listing";
import { failRun, noteRetry, startRun, SyncRetry, SyncStop } from "@/server/services/sources/runs";
import { inngest } from "../client";
import { sourceDetached, sourceSyncRequested } from "../events";
import { eventOutbox } from "../outbox";

/**
 * Runs a step's work. A SyncStop (nothing a retry can fix) is recorded on the source, the run and, for
 * credential failures, the connector, inside the same step, then ends the function without retries. A
 * SyncRetry's reason is noted on the run before the step is retried, so the user sees it at once.
 */
export async function runSyncStep<T>(
  run: { sourceId: string; runId: string | null },
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SyncRetry && run.runId) {
      // Best effort: the retry matters more than the note, so a failed note never replaces the real error.
      await noteRetry(getDb(), run.runId, error.message).catch(() => undefined);
    }
    if (!(error instanceof SyncStop)) throw error;
    await failRun(getDb(), { ...run, message: error.message, credentialsFailed: error.credentialsFailed });
    throw new NonRetriableError(error.message);
  }
}

/**
 * One sync run of a source (backfill, scheduled or manual): lists the prefix ten pages a step, handing new and
 * changed keys to import-objects in batches as it goes, removes what a complete listing did not see, and ends
 * the run once its imports have drained (or leaves that to the last import). A 100,000-object run is ~14
 * steps here, and each import run is one call of the engine. One running run per source is the database's
 * rule (sync_runs), so a second request while one runs is a no-op that leaves the follow-up flag; detaching
 * cancels the run.
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
      await step.run("record failure", () =>
        failRun(getDb(), { sourceId, runId: null, message: error.message, credentialsFailed: false }),
      );
    },
  },
  async ({ event, step }) => {
    const { sourceId, trigger } = event.data;
    const started = await step.run("start", () =>
      runSyncStep({ sourceId, runId: null }, () => startRun(getDb(), sourceId, trigger)),
    );
    if (!started) return { skipped: "the source is archived, or a run of it is running (the follow-up is noted)" };
    const { runId } = started;
    const maxObjects = env().WIRE_SYNC_MAX_OBJECTS;
    const stop = { sourceId, runId };

    let token: string | null = null;
    let listed = 0;
    let pages = 0;
    let truncated = false;
    for (let part = 0; ; part++) {
      const result = await step.run(`list part ${part}`, () =>
        runSyncStep(stop, () =>
          listPages(getDb(), eventOutbox(), {
            sourceId,
            runId,
            token,
            listedSoFar: listed,
            pagesSoFar: pages,
            maxObjects,
          }),
        ),
      );
      listed += result.listed;
      // A step memoized before pages were counted has no such field: removal then finds its count short and stops.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
      pages += result.pages ?? 0;
      truncated = result.truncated;
      token = result.nextToken;
      if (!token) break;
    }
    // A truncated listing saw only part of the prefix: nothing may be removed on its evidence.
    if (!truncated) {
      for (let part = 0; ; part++) {
        const result = await step.run(`remove part ${part}`, () =>
          runSyncStep(stop, () =>
            removeMissing(getDb(), blobStore(), { sourceId, runId, listedTotal: listed, pagesTotal: pages }),
          ),
        );
        if (!result.remaining) break;
      }
    }
    await step.run("listing done", () =>
      completeListing(getDb(), eventOutbox(), { sourceId, runId, listed, truncated }),
    );
    return { listed, truncated };
  },
);
