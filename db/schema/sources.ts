/**
 * Container sources (a connector + bucket + prefix feeding one container), the mirror index of the
 * objects each source pulled, and the history of its sync runs.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
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
    /** New or changed at the source and not yet fetched into the container. */
    needsImport: boolean("needs_import").notNull().default(true),
    /** The run and import batch that will fetch it (one import-objects run per batch). */
    importRunId: uuid("import_run_id"),
    importBatch: integer("import_batch"),
  },
  (t) => [
    primaryKey({ name: "source_objects_pkey", columns: [t.sourceId, t.key] }),
    index("source_objects_batch_idx")
      .on(t.importRunId, t.importBatch)
      .where(sql`${t.needsImport}`),
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
    /** Objects fetched and processed so far (the Syncing pill's progress comes from the running run). */
    processed: integer("processed").notNull().default(0),
    /** The listing stopped at the per-run object cap: nothing was deleted. */
    truncated: boolean("truncated").notNull().default(false),
    /** Listing (and removal, after a complete one) are done; the run ends when its import batches have too. */
    listingDone: boolean("listing_done").notNull().default(false),
    /** Import batches handed out so far (numbered 0..batches-1). */
    batches: integer("batches").notNull().default(0),
    error: text("error"),
    /** Last progress of any part of the run: a running run that stopped reporting shows how long ago. */
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("sync_runs_source_idx").on(t.sourceId, t.startedAt),
    // One running run per source, whatever starts it and however often.
    uniqueIndex("sync_runs_one_running_key")
      .on(t.sourceId)
      .where(sql`${t.status} = 'running'`),
  ],
);

/** The import batches of a run: each is fetched by one import-objects run and marked done exactly once. */
export const syncBatches = pgTable(
  "sync_batches",
  {
    runId: uuid("run_id")
      .notNull()
      .references(() => syncRuns.id, { onDelete: "cascade" }),
    batch: integer("batch").notNull(),
    objects: integer("objects").notNull(),
    done: boolean("done").notNull().default(false),
  },
  (t) => [primaryKey({ name: "sync_batches_pkey", columns: [t.runId, t.batch] })],
);

/**
 * The keys a run's listing saw, a row a page (numbered across the run's steps), so removal after a complete
 * listing needs no write to unchanged mirror rows and a no-change sync of 100,000 keys writes 100 rows.
 * A retried step writes its pages again over the same numbers. Scratch data: the table is UNLOGGED (the
 * migration says so); a run's rows go when its listing is done, or with reconcile if the run ended otherwise;
 * a crash that empties it is caught by comparing the count of its keys with the run's `listed`.
 */
export const syncListedPages = pgTable(
  "sync_listed_pages",
  {
    runId: uuid("run_id").notNull(),
    page: integer("page").notNull(),
    /** How many keys `keys` holds (summed without reading the arrays). */
    listed: integer("listed").notNull(),
    keys: text("keys").array().notNull(),
  },
  (t) => [primaryKey({ name: "sync_listed_pages_pkey", columns: [t.runId, t.page] })],
);
