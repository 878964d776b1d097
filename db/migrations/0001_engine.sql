CREATE TYPE "public"."engine_run_status" AS ENUM('queued', 'running', 'completed', 'failed', 'cancelled');--> statement-breakpoint
CREATE TABLE "engine_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"step_id" text,
	"step_name" text,
	"attempt" integer NOT NULL,
	"outcome" text NOT NULL,
	"error" jsonb,
	"duration_ms" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "engine_events" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"data" jsonb NOT NULL,
	"user" jsonb,
	"ts" bigint NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "engine_functions" (
	"id" text PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"name" text NOT NULL,
	"config" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "engine_jobs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"kind" text NOT NULL,
	"step_id" text,
	"attempt" integer DEFAULT 0 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "engine_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"function_id" text NOT NULL,
	"event_id" text NOT NULL,
	"event" jsonb NOT NULL,
	"status" "engine_run_status" DEFAULT 'queued' NOT NULL,
	"concurrency_key" text,
	"version" integer DEFAULT -1 NOT NULL,
	"output" jsonb,
	"error" jsonb,
	"replay_of" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "engine_schedules" (
	"function_id" text PRIMARY KEY NOT NULL,
	"cron" text NOT NULL,
	"next_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "engine_steps" (
	"run_id" text NOT NULL,
	"id" text NOT NULL,
	"seq" bigserial NOT NULL,
	"name" text,
	"op" text NOT NULL,
	"result" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "engine_steps_pkey" PRIMARY KEY("run_id","id")
);
--> statement-breakpoint
CREATE TABLE "engine_waits" (
	"run_id" text NOT NULL,
	"step_id" text NOT NULL,
	"event_name" text NOT NULL,
	"match_path" text,
	"match_value" jsonb,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "engine_waits_pkey" PRIMARY KEY("run_id","step_id")
);
--> statement-breakpoint
ALTER TABLE "engine_attempts" ADD CONSTRAINT "engine_attempts_run_id_engine_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."engine_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "engine_jobs" ADD CONSTRAINT "engine_jobs_run_id_engine_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."engine_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "engine_steps" ADD CONSTRAINT "engine_steps_run_id_engine_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."engine_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "engine_waits" ADD CONSTRAINT "engine_waits_run_id_engine_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."engine_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "engine_attempts_run_idx" ON "engine_attempts" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "engine_events_name_idx" ON "engine_events" USING btree ("name","received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "engine_jobs_run_kind_step_key" ON "engine_jobs" USING btree ("run_id","kind",coalesce("step_id", ''));--> statement-breakpoint
CREATE INDEX "engine_jobs_due_idx" ON "engine_jobs" USING btree ("run_at");--> statement-breakpoint
CREATE INDEX "engine_runs_slot_idx" ON "engine_runs" USING btree ("function_id","concurrency_key","status");--> statement-breakpoint
CREATE INDEX "engine_runs_created_idx" ON "engine_runs" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "engine_waits_event_idx" ON "engine_waits" USING btree ("event_name");