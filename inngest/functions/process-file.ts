import "server-only";
import { getDb } from "@/db/client";
import { blobStore } from "@/server/blobs";
import { embedder } from "@/server/processing/embed";
import { processFile as runPipeline } from "@/server/processing/pipeline";
import { inngest } from "../client";
import { fileStored } from "../events";

/** Extracts, splits and embeds an uploaded or agent-written file (connector files are processed by their sync). */
export const processFile = inngest.createFunction(
  { id: "process-file", retries: 5, concurrency: { limit: 4 }, triggers: [fileStored] },
  async ({ event, step }) =>
    step.run("process", () => runPipeline(getDb(), blobStore(), embedder(), event.data.fileId)),
);
