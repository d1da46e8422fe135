DROP INDEX "watchtower_job_attempts_key";--> statement-breakpoint
DROP INDEX "watchtower_job_attempts_running";--> statement-breakpoint
DROP INDEX "watchtower_jobs_natural_key";--> statement-breakpoint
ALTER TABLE "watchtower_job_attempts" ADD COLUMN "job_timestamp" bigint;--> statement-breakpoint
ALTER TABLE "watchtower_jobs" ADD COLUMN "job_timestamp" bigint GENERATED ALWAYS AS (floor(extract(epoch from (queued_at - '1970-01-01 00:00:00+00'::timestamptz)) * 1000)::bigint) STORED NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_job_attempts_key" ON "watchtower_job_attempts" USING btree ("connection","queue","job_id","job_timestamp","attempt");--> statement-breakpoint
CREATE INDEX "watchtower_job_attempts_running" ON "watchtower_job_attempts" USING btree ("connection","queue","job_id","job_timestamp") WHERE "watchtower_job_attempts"."status" = 'processing';--> statement-breakpoint
CREATE UNIQUE INDEX "watchtower_jobs_natural_key" ON "watchtower_jobs" USING btree ("connection","queue","job_id","job_timestamp");