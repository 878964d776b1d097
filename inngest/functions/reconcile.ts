import "server-only";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { reconcileBlobs } from "@/server/blobs/ledger";
import { sourcesLeftToClean } from "@/server/services/sources/cleanup";
import { removeStaleScratchLists } from "@/server/services/sources/listing";
import { inngest } from "../client";
import { sourceDetached } from "../events";

/**
 * Every ten minutes, finishes what crashes left: archived sources whose cleanup never ran (their files go),
 * stored copies no file points to (written by an attempt that never committed, or noted for deletion), and
 * the scratch lists of sync runs that failed or were cancelled before their listing was done.
 */
export const reconcile = inngest.createFunction(
  { id: "reconcile", triggers: [{ cron: "*/10 * * * *" }] },
  async ({ step }) => {
    const left = await step.run("find sources left to clean", () => sourcesLeftToClean(getDb(), 10));
    if (left.length) {
      await step.sendEvent(
        "clean up sources",
        left.map((s) => sourceDetached.create({ sourceId: s.id, containerId: s.containerId })),
      );
    }
    // A copy being written is given an hour: an import in flight has committed or given up by then.
    const blobs = await step.run("remove orphaned copies", () =>
      reconcileBlobs(getDb(), blobStore(), { writingGraceMs: 60 * 60 * 1000 }),
    );
    const scratchPages = await step.run("remove stale scratch lists", () => removeStaleScratchLists(getDb()));
    return { sources: left.length, blobs, scratchPages };
  },
);
