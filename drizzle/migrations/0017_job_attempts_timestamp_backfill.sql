-- Custom migration, written by hand (drizzle-kit generate --custom): gives the attempts recorded
-- before jobs were told apart by BullMQ's timestamp the timestamp of their job. Until now a job id
-- had one row per queue and connection, so each attempt has at most one job to take it from. An
-- attempt whose job row is gone (pruned separately, or never written) is dated by its own start:
-- it stays readable, and no job claims it. The next migration makes the column required.
UPDATE "watchtower_job_attempts" a
SET "job_timestamp" = j."job_timestamp"
FROM "watchtower_jobs" j
WHERE a."job_timestamp" IS NULL
  AND j."connection" = a."connection" AND j."queue" = a."queue" AND j."job_id" = a."job_id";--> statement-breakpoint
UPDATE "watchtower_job_attempts"
SET "job_timestamp" = floor(extract(epoch from "started_at") * 1000)::bigint
WHERE "job_timestamp" IS NULL;
