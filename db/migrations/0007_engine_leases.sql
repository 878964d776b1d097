ALTER TABLE "engine_jobs" RENAME COLUMN "run_at" TO "due_at";--> statement-breakpoint
DROP INDEX "engine_runs_slot_idx";--> statement-breakpoint
DROP INDEX "engine_jobs_due_idx";--> statement-breakpoint
ALTER TABLE "engine_attempts" ADD COLUMN "started_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD COLUMN "function_id" text;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD COLUMN "concurrency_key" text;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD COLUMN "concurrency_limit" integer;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD COLUMN "lease_token" text;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD COLUMN "leased_by" text;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD COLUMN "created_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "engine_runs" ADD COLUMN "step_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "engine_runs" ADD COLUMN "state_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Jobs queued before this migration: copy their function and concurrency setting from the run.
UPDATE "engine_jobs" j SET "function_id" = r."function_id", "concurrency_key" = r."concurrency_key",
  "concurrency_limit" = (
    SELECT CASE jsonb_typeof(c) WHEN 'number' THEN c::text::int WHEN 'object' THEN (c->>'limit')::int END
    FROM "engine_functions" f,
      LATERAL (SELECT CASE jsonb_typeof(f."config"->'concurrency') WHEN 'array' THEN f."config"->'concurrency'->0 ELSE f."config"->'concurrency' END AS c) x
    WHERE f."id" = r."function_id")
  FROM "engine_runs" r WHERE r."id" = j."run_id";--> statement-breakpoint
ALTER TABLE "engine_jobs" ALTER COLUMN "function_id" SET NOT NULL;--> statement-breakpoint
UPDATE "engine_runs" r SET "step_count" = s.n, "state_bytes" = octet_length(r."event"::text) + s.bytes
  FROM (SELECT "run_id", count(*)::int AS n, sum(octet_length("result"::text))::bigint AS bytes FROM "engine_steps" GROUP BY "run_id") s
  WHERE s."run_id" = r."id" AND r."status" IN ('queued', 'running');--> statement-breakpoint
-- Workers now notify exactly when work appears or a slot frees; a trigger on every lease change would wake them for nothing.
DROP TRIGGER IF EXISTS "engine_jobs_notify" ON "engine_jobs";--> statement-breakpoint
DROP FUNCTION IF EXISTS engine_jobs_notify();--> statement-breakpoint
CREATE INDEX "engine_events_received_idx" ON "engine_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "engine_jobs_slots_idx" ON "engine_jobs" USING btree ("function_id","concurrency_key") WHERE "engine_jobs"."lease_token" is not null and "engine_jobs"."concurrency_limit" is not null;--> statement-breakpoint
CREATE INDEX "engine_runs_ended_idx" ON "engine_runs" USING btree ("status","ended_at");--> statement-breakpoint
CREATE INDEX "engine_jobs_due_idx" ON "engine_jobs" USING btree ("due_at","id");