ALTER TABLE "watchtower_job_attempts" ALTER COLUMN "job_timestamp" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "watchtower_jobs" ALTER COLUMN "job_timestamp" DROP EXPRESSION;