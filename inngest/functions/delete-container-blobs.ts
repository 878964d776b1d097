import "server-only";
import { blobStore } from "@/server/blobs";
import { containerBlobPrefix } from "@/server/services/containers";
import { inngest } from "../client";
import { containerDeleted } from "../events";

/** Removes the stored copies of a deleted container's files. */
export const deleteContainerBlobs = inngest.createFunction(
  { id: "delete-container-blobs", retries: 10, triggers: [containerDeleted] },
  async ({ event, step }) => {
    await step.run("delete stored copies", () => blobStore().deletePrefix(containerBlobPrefix(event.data.containerId)));
  },
);
