import { env } from "@/server/env";

/**
 * Which durable-execution engine this deployment is configured for. The embedded engine itself arrives
 * with the durable-execution issue; until then `ready` is false and no background work runs.
 */
export function engineStatus(): { mode: "embedded" | "inngest"; ready: boolean } {
  const config = env();
  const external = Boolean(config.INNGEST_DEV || config.INNGEST_BASE_URL || config.INNGEST_SIGNING_KEY);
  return { mode: external ? "inngest" : "embedded", ready: false };
}
