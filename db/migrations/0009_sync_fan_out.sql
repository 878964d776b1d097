CREATE TABLE "sync_batches" (
	"run_id" uuid NOT NULL,
	"batch" integer NOT NULL,
	"objects" integer NOT NULL,
	"done" boolean DEFAULT false NOT NULL,
	CONSTRAINT "sync_batches_pkey" PRIMARY KEY("run_id","batch")
);
--> statement-breakpoint
-- Scratch data of a listing in progress: not worth WAL (a crash that empties it is detected and removes nothing).
CREATE UNLOGGED TABLE "sync_listed" (
	"run_id" uuid NOT NULL,
	"key" text NOT NULL,
	CONSTRAINT "sync_listed_pkey" PRIMARY KEY("run_id","key")
);
--> statement-breakpoint
CREATE TABLE "blob_ledger" (
	"key" text PRIMARY KEY NOT NULL,
	"intent" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "source_objects_pending_idx";--> statement-breakpoint
ALTER TABLE "files" ALTER COLUMN "blob_key" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "source_objects" ADD COLUMN "import_run_id" uuid;--> statement-breakpoint
ALTER TABLE "source_objects" ADD COLUMN "import_batch" integer;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "processed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "listing_done" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "batches" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_batches" ADD CONSTRAINT "sync_batches_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blob_ledger_created_idx" ON "blob_ledger" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "files_blob_key_idx" ON "files" USING btree ("blob_key");--> statement-breakpoint
CREATE INDEX "files_source_idx" ON "files" USING btree ("source_id");--> statement-breakpoint
-- Copies of a key left by earlier crash races (no mirror row points to them) go, their stored copies through the ledger.
WITH extra AS (
  DELETE FROM "files" f
  WHERE f."source_id" IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM "source_objects" o WHERE o."file_id" = f."id")
    AND EXISTS (SELECT 1 FROM "files" g WHERE g."source_id" = f."source_id" AND g."name" = f."name" AND g."id" <> f."id")
  RETURNING f."blob_key"
)
INSERT INTO "blob_ledger" ("key", "intent") SELECT "blob_key", 'deleting' FROM extra WHERE "blob_key" IS NOT NULL ON CONFLICT DO NOTHING;--> statement-breakpoint
CREATE UNIQUE INDEX "files_source_name_key" ON "files" USING btree ("source_id","name") WHERE "files"."source_id" is not null;--> statement-breakpoint
CREATE INDEX "source_objects_batch_idx" ON "source_objects" USING btree ("import_run_id","import_batch") WHERE "source_objects"."needs_import";--> statement-breakpoint
-- Runs left running by older versions: all but the newest of each source end as failed.
UPDATE "sync_runs" r SET "status" = 'failed', "finished_at" = now(), "error" = 'Superseded by a newer run.'
WHERE r."status" = 'running'
  AND EXISTS (SELECT 1 FROM "sync_runs" n WHERE n."source_id" = r."source_id" AND n."status" = 'running' AND (n."started_at", n."id") > (r."started_at", r."id"));--> statement-breakpoint
CREATE UNIQUE INDEX "sync_runs_one_running_key" ON "sync_runs" USING btree ("source_id") WHERE "sync_runs"."status" = 'running';--> statement-breakpoint
ALTER TABLE "source_objects" DROP COLUMN "last_seen_run_id";--> statement-breakpoint
ALTER TABLE "sources" DROP COLUMN "progress";