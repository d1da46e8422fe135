import { type SQL, sql } from 'drizzle-orm';
import { ROLLUP_GRACE_MINUTES } from '../queries/metrics';

/** Completed hours recomputed on every run besides the current one, so late minute rows are folded in. */
export const ROLLUP_LOOKBACK_HOURS = 3;
/** How far back a run looks for hours with minute rows but no finished rollup (cron down, first deploy). */
export const ROLLUP_CATCH_UP_WINDOW_HOURS = 48;
/** Such hours one run rolls up at most, newest first; the next run carries on. */
export const ROLLUP_CATCH_UP_PER_RUN = 12;

/**
 * The hours an hourly rollup recomputes (one column, `hour`), shared by the metrics and the
 * connection health rollups: the current hour, the last ROLLUP_LOOKBACK_HOURS completed ones, and
 * up to ROLLUP_CATCH_UP_PER_RUN older hours of the last ROLLUP_CATCH_UP_WINDOW_HOURS that have
 * minute rows but no rollup made after they ended (or one marked untrusted by a late minute row).
 * Hours past the minutes' retention (`keptSeconds`, 0: kept for ever) are left alone: their
 * minutes may be half pruned, and the hourly rows are what is left of them.
 *
 * `hourly` and `minutes` are table names written here, never input.
 */
export function hoursToRollUp(hourly: string, minutes: string, keptSeconds: number): SQL {
  return sql`
    select g.hour
    from generate_series(
           date_trunc('hour', now()) - make_interval(hours => ${ROLLUP_CATCH_UP_WINDOW_HOURS}),
           date_trunc('hour', now()), interval '1 hour') as g(hour)
    where (${keptSeconds}::bigint = 0
           or g.hour >= now() - make_interval(secs => ${keptSeconds}::double precision))
      and (g.hour >= date_trunc('hour', now()) - make_interval(hours => ${ROLLUP_LOOKBACK_HOURS})
           or (not exists (select 1 from ${sql.identifier(hourly)} h
                           where h.hour = g.hour
                             and h.rolled_at >= g.hour + interval '1 hour'
                                                + make_interval(mins => ${ROLLUP_GRACE_MINUTES}))
               and exists (select 1 from ${sql.identifier(minutes)} m
                           where m.minute >= g.hour and m.minute < g.hour + interval '1 hour')))
    order by g.hour desc
    limit ${ROLLUP_LOOKBACK_HOURS + 1 + ROLLUP_CATCH_UP_PER_RUN}`;
}
