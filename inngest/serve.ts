import "server-only";
import type { Inngest, InngestFunction } from "inngest";
import { serve } from "inngest/next";
import type postgres from "postgres";
import { getSql } from "@/db/client";
import { env } from "@/server/env";
import { inngest } from "./client";
import { JobGuard } from "./engine/job-guard";

export const INNGEST_PATH = "/api/inngest";

/**
 * The /api/inngest handlers for a set of functions (the app's, or a test's). The URL the SDK registers
 * comes from configuration (WIRE_PUBLIC_URL), never from the request's Host header, so a forged request
 * cannot point Inngest elsewhere; and calls of the embedded engine run one at a time per job (job-guard.ts).
 */
export function inngestHandlers(
  functions: InngestFunction.Any[],
  options: { client?: Inngest.Any; lockDatabase?: () => postgres.Sql } = {},
) {
  const handlers = serve({
    client: options.client ?? inngest,
    functions,
    serveOrigin: new URL(env().WIRE_PUBLIC_URL).origin,
    servePath: INNGEST_PATH,
  });
  const guard = new JobGuard(options.lockDatabase ?? getSql);
  return { GET: handlers.GET, PUT: handlers.PUT, POST: guard.wrap(handlers.POST as never), close: () => guard.close() };
}
