CREATE TABLE "watchtower_bus_entries" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchtower_commands" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "watchtower_commands_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"target_kind" text NOT NULL,
	"target_id" text NOT NULL,
	"type" text NOT NULL,
	"args" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"result" jsonb,
	"error" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"claimed_by" text,
	"claimed_at" timestamp with time zone,
	"claim_token" uuid,
	"lease_until" timestamp with time zone,
	"deliveries" integer DEFAULT 0 NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "watchtower_hosts" (
	"host_id" text PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"version" text DEFAULT '' NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"connections" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"supervisors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"memory_bytes" bigint,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_heartbeat" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchtower_workers" (
	"worker_id" text PRIMARY KEY NOT NULL,
	"host_id" text NOT NULL,
	"supervisor" text NOT NULL,
	"connection" text DEFAULT 'default' NOT NULL,
	"queue" text NOT NULL,
	"pid" integer,
	"status" text DEFAULT 'starting' NOT NULL,
	"current_job" text,
	"jobs_processed" bigint DEFAULT 0 NOT NULL,
	"jobs_failed" bigint DEFAULT 0 NOT NULL,
	"memory_bytes" bigint,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_heartbeat" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchtower_job_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "watchtower_job_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"connection" text DEFAULT 'default' NOT NULL,
	"queue" text NOT NULL,
	"job_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"worker_id" text,
	"host_id" text,
	"status" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"run_ms" integer,
	"error_message" text,
	"error_stack" text
);
--> statement-breakpoint
CREATE TABLE "watchtower_jobs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "watchtower_jobs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_id" text NOT NULL,
	"queue" text NOT NULL,
	"connection" text DEFAULT 'default' NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"payload" jsonb,
	"payload_truncated" boolean DEFAULT false NOT NULL,
	"data_size" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"worker_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 1 NOT NULL,
	"exception" text,
	"result" jsonb,
	"retry_of" bigint,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"wait_ms" integer,
	"run_ms" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "watchtower_metrics" (
	"minute" timestamp with time zone NOT NULL,
	"connection" text DEFAULT 'default' NOT NULL,
	"queue" text NOT NULL,
	"queued" bigint DEFAULT 0 NOT NULL,
	"completed" bigint DEFAULT 0 NOT NULL,
	"failed" bigint DEFAULT 0 NOT NULL,
	"retried" bigint DEFAULT 0 NOT NULL,
	"run_ms_sum" double precision DEFAULT 0 NOT NULL,
	"run_ms_max" double precision DEFAULT 0 NOT NULL,
	"wait_ms_sum" double precision DEFAULT 0 NOT NULL,
	"wait_ms_max" double precision DEFAULT 0 NOT NULL,
	"depth" bigint,
	CONSTRAINT "watchtower_metrics_minute_connection_queue_pk" PRIMARY KEY("minute","connection","queue")
);
--> statement-breakpoint
CREATE INDEX "watchtower_bus_entries_expiry" ON "watchtower_bus_entries" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "watchtower_commands_open" ON "watchtower_commands" USING btree ("target_kind","target_id","seq") WHERE "watchtower_commands"."status" in ('pending', 'claimed');--> statement-breakpoint
CREATE INDEX "watchtower_commands_finished" ON "watchtower_commands" USING btree ("finished_at") WHERE "watchtower_commands"."finished_at" is not null;--> statement-breakpoint
CREATE INDEX "watchtower_commands_expiry" ON "watchtower_commands" USING btree ("expires_at") WHERE "watchtower_commands"."status" in ('pending', 'claimed');--> statement-breakpoint
CREATE INDEX "watchtower_commands_recent" ON "watchtower_commands" USING btree ("created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_hosts_heartbeat" ON "watchtower_hosts" USING btree ("last_heartbeat" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_workers_host" ON "watchtower_workers" USING btree ("host_id","supervisor");--> statement-breakpoint
CREATE INDEX "watchtower_workers_live" ON "watchtower_workers" USING btree ("last_heartbeat" DESC NULLS LAST) WHERE "watchtower_workers"."status" <> 'dead' and "watchtower_workers"."status" <> 'stopped';--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_job_attempts_key" ON "watchtower_job_attempts" USING btree ("connection","queue","job_id","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_jobs_natural_key" ON "watchtower_jobs" USING btree ("connection","queue","job_id");--> statement-breakpoint
CREATE INDEX "watchtower_jobs_recent" ON "watchtower_jobs" USING btree ("queued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_jobs_status_recent" ON "watchtower_jobs" USING btree ("status","queued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_jobs_queue_status_recent" ON "watchtower_jobs" USING btree ("queue","status","queued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "watchtower_jobs_completed_at" ON "watchtower_jobs" USING btree ("completed_at") WHERE "watchtower_jobs"."completed_at" is not null;--> statement-breakpoint
CREATE INDEX "watchtower_jobs_worker" ON "watchtower_jobs" USING btree ("worker_id") WHERE "watchtower_jobs"."status" = 'processing';--> statement-breakpoint
CREATE INDEX "watchtower_jobs_search_trgm" ON "watchtower_jobs" USING gin (("job_id" || ' ' || "name" || ' ' || coalesce("exception", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "watchtower_metrics_queue_minute" ON "watchtower_metrics" USING btree ("queue","minute" DESC NULLS LAST);