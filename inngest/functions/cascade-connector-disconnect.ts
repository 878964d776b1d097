import "server-only";
import { getDb } from "@/db/client";
import { archiveSourcesOf } from "@/server/services/sources";
import { inngest } from "../client";
import { connectorDisconnected, sourceDetached } from "../events";

/** A disconnected connector detaches every source it fed, in every container. */
export const cascadeConnectorDisconnect = inngest.createFunction(
  { id: "cascade-connector-disconnect", retries: 10, triggers: [connectorDisconnected] },
  async ({ event, step }) => {
    const archived = await step.run("archive sources", () => archiveSourcesOf(getDb(), event.data.connectorId));
    if (archived.length) {
      await step.sendEvent(
        "clean up sources",
        archived.map((s) => sourceDetached.create({ sourceId: s.id, containerId: s.containerId })),
      );
    }
    return { sources: archived.length };
  },
);
