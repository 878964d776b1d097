/**
 * What the source tests start from: an organization with a container, a connector (the shared test S3
 * server unless told otherwise) and its owner's tRPC caller; and a wait for a source's sync to settle.
 * Import it after setting process.env.WIRE_ENGINE_PORT, like app-with-engine.
 */
import { eq, sql } from "drizzle-orm";
import { getDb } from "@/db/client";
import { connectors, sources } from "@/db/schema";
import { until } from "@/inngest/engine/test/harness";
import { eventOutbox } from "@/inngest/outbox";
import * as f from "@/server/test/factories";

export async function sourceWorld(connector: Partial<typeof connectors.$inferInsert> = {}) {
  const org = await f.createOrg();
  const container = await f.createContainer(org.id);
  const row = await f.createConnectorRow(org.id, connector);
  return { org, container, connector: row, api: f.callerFor(org.owner, { events: eventOutbox() }) };
}

/** Until the source is Synced or Error and no engine run of it is queued or running. */
export async function sourceSettled(sourceId: string, timeoutMs = 30_000) {
  await until(
    async () => {
      const [row] = await getDb().select({ status: sources.status }).from(sources).where(eq(sources.id, sourceId));
      const [{ n } = { n: -1 }] = await getDb().execute<{ n: number }>(
        sql`select count(*)::int as n from engine_runs where status in ('queued','running') and event->'data'->>'sourceId' = ${sourceId}`,
      );
      return (row?.status === "synced" || row?.status === "error") && n === 0;
    },
    timeoutMs,
    "the source to settle",
  );
}
