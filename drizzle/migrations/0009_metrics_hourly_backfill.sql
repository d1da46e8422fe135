-- Custom migration, written by hand (drizzle-kit generate --custom): a one-time backfill of
-- watchtower_metrics_hourly from the per-minute rows already there, so the 24-hour charts read the
-- hourly table as soon as this is deployed instead of after the cron's catch-up. It sums every
-- completed hour the same way functions/housekeeping/rollup-metrics.ts does (which owns the table
-- from then on), skipping the oldest hour present: the metrics prune may have cut it in half.
INSERT INTO "watchtower_metrics_hourly" ("hour", "connection", "queue", "queued", "completed", "failed", "retried",
  "run_ms_sum", "run_ms_max", "wait_ms_sum", "wait_ms_max", "depth", "rolled_at")
SELECT date_trunc('hour', "minute"), "connection", "queue", sum("queued"), sum("completed"), sum("failed"),
  sum("retried"), sum("run_ms_sum"), max("run_ms_max"), sum("wait_ms_sum"), max("wait_ms_max"),
  (array_agg("depth" ORDER BY "minute" DESC) FILTER (WHERE "depth" IS NOT NULL))[1], now()
FROM "watchtower_metrics"
WHERE "minute" < date_trunc('hour', now())
  AND "minute" >= (SELECT date_trunc('hour', min("minute")) + interval '1 hour' FROM "watchtower_metrics")
GROUP BY 1, 2, 3
ON CONFLICT ("hour", "connection", "queue") DO NOTHING;
