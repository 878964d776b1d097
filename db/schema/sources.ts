/**
 * Container sources (a connector + bucket + prefix feeding one container), the mirror index of the
 * objects each source pulled, and the history of its sync runs.
 */
import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./auth";
import { connectors } from "./connectors";
import { containers } from "./containers";
import { files } from "./files";

export const sourceStatus = pgEnum("source_status", ["pending", "syncing", "synced", "error", "archived"]);
export const syncTrigger = pgEnum("sync_trigger", ["backfill", "schedule", "manual"]);
export const syncRunStatus = pgEnum("sync_run_status", ["running", "succeeded", "failed", "cancelled"]);

export const sources = pgTable(
  "sources",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    containerId: uuid("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    connectorId: uuid("connector_id")
      .notNull()
      .references(() => connectors.id, { onDelete: "cascade" }),
    bucket: text("bucket").notNull(),
    prefix: text("prefix").notNull().default(""),
    status: sourceStatus("status").notNull().default("pending"),
    lastError: text("last_error"),
    lastSyncedAt: timestamp("last_synced_at", { withTimezone: true }),
    /** Counters of the run in flight, for the Syncing pill. */
    progress: jsonb("progress").$type<{ listed: number; processed: number; failed: number }>(),
    /** When the source last became Pending: a run requested but never started (lost event) is re-queued. */
    queuedAt: timestamp("queued_at", { withTimezone: true }),
    /** "Sync now" pressed while a run was in flight: exactly one follow-up run happens after it. */
    followUpRequested: boolean("follow_up_requested").notNull().default(false),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    archivedAt: timestamp("archived_at", { withTimezone: true }),
  },
  (t) => [index("sources_container_idx").on(t.containerId), index("sources_connector_idx").on(t.connectorId)],
);

/** What the source saw in the bucket: one row per object key it mirrors, pointing at the file it made. */
export const sourceObjects = pgTable(
  "source_objects",
  {
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    etag: text("etag").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    lastModified: timestamp("last_modified", { withTimezone: true }),
    fileId: uuid("file_id").references(() => files.id, { onDelete: "set null" }),
    /** The last sync run whose listing included this key; keys a complete listing did not see are gone. */
    lastSeenRunId: uuid("last_seen_run_id"),
    /** New or changed at the source and not yet fetched into the container. */
    needsImport: boolean("needs_import").notNull().default(true),
  },
  (t) => [
    primaryKey({ name: "source_objects_pkey", columns: [t.sourceId, t.key] }),
    index("source_objects_pending_idx").on(t.sourceId).where(sql`${t.needsImport}`),
  ],
);

export const syncRuns = pgTable(
  "sync_runs",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    sourceId: uuid("source_id")
      .notNull()
      .references(() => sources.id, { onDelete: "cascade" }),
    trigger: syncTrigger("trigger").notNull(),
    status: syncRunStatus("status").notNull().default("running"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    listed: integer("listed").notNull().default(0),
    added: integer("added").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    removed: integer("removed").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    /** The listing stopped at the per-run object cap: nothing past the last listed key was deleted. */
    truncated: boolean("truncated").notNull().default(false),
    error: text("error"),
  },
  (t) => [index("sync_runs_source_idx").on(t.sourceId, t.startedAt)],
);
