/**
 * Durable hand-offs from a state change to background work. An event is recorded in the same transaction as
 * the change it announces (a detach, an upload, a sync request…) and relayed to the engine afterwards
 * (inngest/outbox.ts), so a crash between the two loses nothing. The blob ledger does the same for stored
 * copies: a copy is recorded before it is written and before it is deleted, so one that no file points to is
 * found and removed later, whatever crashed in between.
 */
import { bigserial, index, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const outbox = pgTable("outbox", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  /** The event as it will be sent; its id is `outbox-<id>` unless it names its own. */
  event: jsonb("event").$type<{ id?: string; name: string; data: Record<string, unknown> }>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const blobLedger = pgTable(
  "blob_ledger",
  {
    key: text("key").primaryKey(),
    /** writing: a copy being stored, not yet referenced by a file · deleting: a copy no file references any more */
    intent: text("intent", { enum: ["writing", "deleting"] }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("blob_ledger_created_idx").on(t.createdAt)],
);
