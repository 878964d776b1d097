import "server-only";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { deleteSourceFiles } from "@/server/services/sources/cleanup";
import { inngest } from "../client";
import { sourceDetached } from "../events";

/** Removes every file an archived source pulled, with entries, embeddings and stored copies, in batches. */
export const cleanupSource = inngest.createFunction(
  {
    id: "cleanup-source",
    retries: 10,
    concurrency: { limit: 1, key: "event.data.sourceId" },
    triggers: [sourceDetached],
  },
  async ({ event, step }) => {
    let deleted = 0;
    for (let batch = 0; ; batch++) {
      const result = await step.run(`delete batch ${batch}`, () =>
        deleteSourceFiles(getDb(), blobStore(), {
          sourceId: event.data.sourceId,
          containerId: event.data.containerId,
          batchSize: 2000,
        }),
      );
      deleted += result.deleted;
      if (!result.remaining) break;
    }
    return { deleted };
  },
);
