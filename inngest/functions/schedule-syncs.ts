import "server-only";
import { getDb } from "@/db/client";
import { env } from "@/server/env";
import { queueDueSources } from "@/server/services/sources";
import { inngest } from "../client";
import { sourceSyncRequested } from "../events";

/** Every minute: sources whose last sync is older than the cadence get a scheduled run. */
export const scheduleSyncs = inngest.createFunction(
  { id: "schedule-syncs", triggers: [{ cron: "* * * * *" }] },
  async ({ step }) => {
    const due = await step.run("queue due sources", () => queueDueSources(getDb(), env().WIRE_SYNC_INTERVAL_MINUTES));
    if (due.length)
      await step.sendEvent(
        "sync due sources",
        due.map((sourceId) => sourceSyncRequested.create({ sourceId, trigger: "schedule" })),
      );
    return { queued: due.length };
  },
);
