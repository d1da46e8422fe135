-- Custom migration, written by hand (drizzle-kit generate --custom). The health query trusts an hour
-- of watchtower_connection_health_hourly once it was rolled up after the hour ended; a minute row
-- written into such an hour afterwards (a host whose heartbeats failed for a while writes the
-- minutes it kept with its next beat) would be left out until a later rollup, or for ever beyond
-- the rollup's look-back. As for the metrics (watchtower_metrics_hour_stale), this trigger marks
-- the whole hour untrusted instead (rolled_at = -infinity): the query reads that hour from the
-- minute rows again, and the cron's catch-up recomputes it. Rows of the current hour, the hosts'
-- normal path, stop at the first comparison.
CREATE OR REPLACE FUNCTION watchtower_connection_health_hour_stale() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.minute < date_trunc('hour', now()) THEN
    UPDATE watchtower_connection_health_hourly SET rolled_at = '-infinity'
    WHERE hour = date_trunc('hour', NEW.minute) AND rolled_at <> '-infinity';
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER watchtower_connection_health_hour_stale
AFTER INSERT OR UPDATE ON watchtower_connection_health
FOR EACH ROW EXECUTE FUNCTION watchtower_connection_health_hour_stale();
