-- Custom migration, written by hand (drizzle-kit generate --custom). GET /api/metrics trusts an
-- hour of watchtower_metrics_hourly once it was rolled up after the hour ended; a minute row written
-- into such an hour afterwards (a recorder replaying its spool after an outage, a host whose flush
-- came late) would be left out until a later rollup, or for ever beyond the rollup's look-back.
-- This trigger marks the whole hour untrusted instead (rolled_at = -infinity): the route reads that
-- hour from the minute rows again, and the cron's catch-up recomputes it. Minute rows of the
-- current hour, the recorder's normal path, stop at the first comparison.
CREATE OR REPLACE FUNCTION watchtower_metrics_hour_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.minute < date_trunc('hour', now()) THEN
    UPDATE watchtower_metrics_hourly SET rolled_at = '-infinity'
    WHERE hour = date_trunc('hour', NEW.minute) AND rolled_at <> '-infinity';
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER watchtower_metrics_hour_stale
AFTER INSERT OR UPDATE ON watchtower_metrics
FOR EACH ROW EXECUTE FUNCTION watchtower_metrics_hour_stale();
