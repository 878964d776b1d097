/**
 * Org-level storage connectors. The credentials are sealed (envelope encryption, server/crypto) and
 * wiped on disconnect; every unseal is recorded in credential_reads first.
 */
import { bigserial, index, jsonb, pgEnum, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./auth";
import { organizations } from "./organizations";

export const connectorProvider = pgEnum("connector_provider", [
  "aws",
  "r2",
  "minio",
  "b2",
  "wasabi",
  "digitalocean",
  "custom",
]);
export const connectorStatus = pgEnum("connector_status", ["active", "invalid_credentials", "disconnected"]);

export const connectors = pgTable(
  "connectors",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    label: text("label").notNull(),
    provider: connectorProvider("provider").notNull(),
    /** Normalized endpoint URL; null means AWS S3's own endpoints. */
    endpoint: text("endpoint"),
    region: text("region").notNull(),
    testBucket: text("test_bucket").notNull(),
    /**
     * Where in the test bucket validation lists (ListObjectsV2, MaxKeys 1): credentials limited to a prefix
     * (an s3:prefix condition) can be checked without a bucket-root listing. Empty: the whole bucket.
     */
    testPrefix: text("test_prefix").notNull().default(""),
    status: connectorStatus("status").notNull().default("active"),
    lastCheckedAt: timestamp("last_checked_at", { withTimezone: true }),
    lastError: text("last_error"),
    /** A SealedSecret (server/crypto); null once disconnected. */
    sealedCredentials: jsonb("sealed_credentials"),
    createdBy: text("created_by").references(() => users.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    disconnectedAt: timestamp("disconnected_at", { withTimezone: true }),
    /**
     * A disconnected connector an Owner or Admin removed from the list. The row stays (its credential_reads
     * are the audit trail, and cascade from it); only the list leaves it out.
     */
    removedAt: timestamp("removed_at", { withTimezone: true }),
  },
  (t) => [index("connectors_org_id_idx").on(t.orgId)],
);

/** One row per unseal of a connector's credentials: who (a user or a job) and why. */
export const credentialReads = pgTable(
  "credential_reads",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    connectorId: uuid("connector_id")
      .notNull()
      .references(() => connectors.id, { onDelete: "cascade" }),
    actorType: text("actor_type", { enum: ["user", "job"] }).notNull(),
    /** A user id, or a job name such as an Inngest function id. */
    actorId: text("actor_id").notNull(),
    purpose: text("purpose").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("credential_reads_connector_idx").on(t.connectorId, t.at)],
);
