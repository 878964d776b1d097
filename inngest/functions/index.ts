import type { InngestFunction } from "inngest";

/** Every function Wire serves at /api/inngest. One function per file in this folder. */
export const functions: InngestFunction.Any[] = [];
