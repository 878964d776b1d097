import "server-only";
import type { InngestFunction } from "inngest";
import { cascadeConnectorDisconnect } from "./cascade-connector-disconnect";
import { cleanupSource } from "./cleanup-source";
import { deleteContainerBlobs } from "./delete-container-blobs";
import { importObjects } from "./import-objects";
import { processFile } from "./process-file";
import { reconcile } from "./reconcile";
import { scheduleSyncs } from "./schedule-syncs";
import { syncSource } from "./sync-source";

/** Every function Wire serves at /api/inngest. One function per file in this folder. */
export const functions: InngestFunction.Any[] = [
  deleteContainerBlobs,
  processFile,
  syncSource,
  importObjects,
  cleanupSource,
  cascadeConnectorDisconnect,
  scheduleSyncs,
  reconcile,
];
