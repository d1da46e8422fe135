DROP INDEX "watchtower_jobs_search_trgm";--> statement-breakpoint
DROP INDEX "watchtower_jobs_data_trgm";--> statement-breakpoint
ALTER TABLE "watchtower_jobs" ADD COLUMN "search_vector" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, watchtower_search_text(left(job_id || ' ' || name || ' ' || coalesce(exception, ''), 8192) || ' ' || coalesce(left(payload::text, 256), '')))) STORED;--> statement-breakpoint
CREATE INDEX "watchtower_jobs_search" ON "watchtower_jobs" USING gin ("search_vector");