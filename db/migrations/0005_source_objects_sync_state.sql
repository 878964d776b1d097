ALTER TABLE "source_objects" ADD COLUMN "last_seen_run_id" uuid;--> statement-breakpoint
ALTER TABLE "source_objects" ADD COLUMN "needs_import" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "source_objects_pending_idx" ON "source_objects" USING btree ("source_id") WHERE "source_objects"."needs_import";