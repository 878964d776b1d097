/** What processing derives from a file: text entries (chunks) and one embedding per entry. */
import { bigserial, index, integer, pgTable, real, text, uuid, bigint } from "drizzle-orm/pg-core";
import { files } from "./files";

export const entries = pgTable(
  "entries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    fileId: uuid("file_id")
      .notNull()
      .references(() => files.id, { onDelete: "cascade" }),
    ordinal: integer("ordinal").notNull(),
    text: text("text").notNull(),
  },
  (t) => [index("entries_file_idx").on(t.fileId, t.ordinal)],
);

export const embeddings = pgTable("embeddings", {
  entryId: bigint("entry_id", { mode: "number" })
    .primaryKey()
    .references(() => entries.id, { onDelete: "cascade" }),
  model: text("model").notNull(),
  vector: real("vector").array().notNull(),
});
