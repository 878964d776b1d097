import type { InngestFunction } from "inngest";
import { deleteContainerBlobs } from "./delete-container-blobs";

/** Every function Wire serves at /api/inngest. One function per file in this folder. */
export const functions: InngestFunction.Any[] = [deleteContainerBlobs];
