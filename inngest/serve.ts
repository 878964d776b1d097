import type { InngestFunction } from "inngest";
import { serve } from "inngest/next";
import { inngest } from "./client";

/** The /api/inngest handlers for a set of functions (the app's, or a test's). */
export function inngestHandlers(functions: InngestFunction.Any[], client = inngest) {
  return serve({ client, functions });
}
