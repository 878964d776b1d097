/** Files in a container. Every file has a stored copy in the blob store under `blobKey`, except a connector file whose object could not be read (failed). */
import { sql } from "drizzle-orm";
import { bigint, index, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "./auth";
import { containers } from "./containers";

export const fileOrigin = pgEnum("file_origin", ["upload", "agent", "connector"]);
export const fileStatus = pgEnum("file_status", ["processing", "ready", "failed"]);

export const files = pgTable(
  "files",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    containerId: uuid("container_id")
      .notNull()
      .references(() => containers.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    origin: fileOrigin("origin").notNull(),
    /** The connector source that created the file; null for uploads and agent writes. */
    sourceId: uuid("source_id"),
    status: fileStatus("status").notNull().default("processing"),
    error: text("error"),
    contentType: text("content_type").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    /** The stored copy; null only for a connector file whose object could not be fetched (status failed). */
    blobKey: text("blob_key"),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("files_container_updated_idx").on(t.containerId, t.updatedAt),
    // Uploads and agent writes address files by name: writing a name again replaces that file.
    uniqueIndex("files_container_name_direct_key")
      .on(t.containerId, t.name)
      .where(sql`${t.sourceId} is null`),
    // Reconcile asks whether any file still refers to a stored copy.
    index("files_blob_key_idx").on(t.blobKey),
    // Cleanup of a source's files.
    index("files_source_idx").on(t.sourceId),
    // A source mirrors each key as one file, whatever retries or overlapping runs do.
    uniqueIndex("files_source_name_key")
      .on(t.sourceId, t.name)
      .where(sql`${t.sourceId} is not null`),
  ],
);
