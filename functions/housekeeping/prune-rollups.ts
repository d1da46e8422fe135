import { sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../../core/db/database';
import { pruneBounds, retentionDays } from '../config';
import { daysToSeconds, type HousekeepingStep, inBatches } from './step';

/**
 * The hourly rollups are kept at least this many days, and never less than the per-minute rows;
 * at ~24 rows per series a day they cost little, and they are what longer charts can read.
 */
export const HOURLY_ROLLUP_MIN_DAYS = 90;

/** Days to keep an hourly rollup for a per-minute retention of `minuteDays` (0: forever). */
export function hourlyRetentionDays(minuteDays: number): number {
  return minuteDays === 0 ? 0 : Math.max(minuteDays, HOURLY_ROLLUP_MIN_DAYS);
}

/** A pair of rollup tables: per minute and per hour, keyed by their time column and `keys`. */
export interface RollupTables {
  minutes: string;
  hourly: string;
  /** The primary key's columns after the time column. */
  keys: readonly string[];
}

/**
 * One batch of a rollup table's rows older than `days`, oldest first along its primary key.
 * Table and column names come from the steps' constants, never from input.
 */
async function deleteRollupBatch(
  db: StatementDatabase,
  table: string,
  timeColumn: 'minute' | 'hour',
  keys: readonly string[],
  days: number,
  batchSize: number,
): Promise<number> {
  const t = sql.identifier(table);
  const at = sql.identifier(timeColumn);
  const keyList = sql.join(
    keys.map((key) => sql.identifier(key)),
    sql`, `,
  );
  const sameKeys = sql.join(
    keys.map((key) => sql`r.${sql.identifier(key)} = d.${sql.identifier(key)}`),
    sql` and `,
  );
  const result = rowsOf<{ n: number }>(
    await db.execute(sql`
      with doomed as (
        select ${at}, ${keyList} from ${t}
        where ${at} < now() - make_interval(secs => ${daysToSeconds(days)}::double precision)
        order by ${at}
        limit ${batchSize}
        for update skip locked
      ), deleted as (
        delete from ${t} r using doomed d
        where r.${at} = d.${at} and ${sameKeys}
        returning 1
      )
      select count(*)::int as n from deleted`),
  );
  return Number(result[0]?.n ?? 0);
}

/**
 * A housekeeping step pruning a pair of rollup tables: the minutes older than the retention
 * variable's days, the hours older than hourlyRetentionDays() of it, in bounded batches.
 */
export function pruneRollups(
  name: string,
  variable: Parameters<typeof retentionDays>[1],
  defaultDays: number,
  tables: RollupTables,
): HousekeepingStep {
  return {
    name,
    async run({ db, env }) {
      const days = retentionDays(env, variable, defaultDays);
      if (days === 0) return 'kept (retention 0)';
      const bounds = pruneBounds(env);
      const minuteRows = await inBatches(bounds, () =>
        deleteRollupBatch(db, tables.minutes, 'minute', tables.keys, days, bounds.batchSize),
      );
      const hourlyDays = hourlyRetentionDays(days);
      const hourlyRows = await inBatches(bounds, () =>
        deleteRollupBatch(db, tables.hourly, 'hour', tables.keys, hourlyDays, bounds.batchSize),
      );
      return `${minuteRows} rows older than ${days} d, ${hourlyRows} hourly rows older than ${hourlyDays} d`;
    },
  };
}
