CREATE TYPE "public"."connector_provider" AS ENUM('aws', 'r2', 'minio', 'b2', 'wasabi', 'digitalocean', 'custom');--> statement-breakpoint
CREATE TYPE "public"."connector_status" AS ENUM('active', 'invalid_credentials', 'disconnected');--> statement-breakpoint
CREATE TABLE "connectors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"label" text NOT NULL,
	"provider" "connector_provider" NOT NULL,
	"endpoint" text,
	"region" text NOT NULL,
	"test_bucket" text NOT NULL,
	"status" "connector_status" DEFAULT 'active' NOT NULL,
	"last_checked_at" timestamp with time zone,
	"last_error" text,
	"sealed_credentials" jsonb,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disconnected_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "credential_reads" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"connector_id" uuid NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text NOT NULL,
	"purpose" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credential_reads" ADD CONSTRAINT "credential_reads_connector_id_connectors_id_fk" FOREIGN KEY ("connector_id") REFERENCES "public"."connectors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "connectors_org_id_idx" ON "connectors" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "credential_reads_connector_idx" ON "credential_reads" USING btree ("connector_id","at");