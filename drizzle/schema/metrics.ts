import { bigint, doublePrecision, index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** The queue and measures both rollup tables hold (fresh builders for each table). */
function rollupMeasures() {
  return {
    connection: text('connection').notNull().default('default'),
    queue: text('queue').notNull(),
    queued: bigint('queued', { mode: 'number' }).notNull().default(0),
    completed: bigint('completed', { mode: 'number' }).notNull().default(0),
    failed: bigint('failed', { mode: 'number' }).notNull().default(0),
    retried: bigint('retried', { mode: 'number' }).notNull().default(0),
    runMsSum: doublePrecision('run_ms_sum').notNull().default(0),
    runMsMax: doublePrecision('run_ms_max').notNull().default(0),
    waitMsSum: doublePrecision('wait_ms_sum').notNull().default(0),
    waitMsMax: doublePrecision('wait_ms_max').notNull().default(0),
  };
}

/**
 * Per-minute rollups per queue, written by the recorder with additive upserts, so every chart and
 * stat reads a few hundred rows instead of scanning jobs.
 */
export const metrics = pgTable(
  'watchtower_metrics',
  {
    minute: timestamp('minute', { withTimezone: true, mode: 'date' }).notNull(),
    ...rollupMeasures(),
    // Queue depth sampled at the end of the minute (waiting + delayed), when a host saw it.
    depth: bigint('depth', { mode: 'number' }),
  },
  (t) => [
    primaryKey({ columns: [t.minute, t.connection, t.queue] }),
    index('watchtower_metrics_queue_minute').on(t.queue, t.minute.desc()),
  ],
);

/**
 * Hourly rollups per queue, recomputed from watchtower_metrics by the Cloudflare Worker's cron
 * (functions/housekeeping/rollup-metrics.ts), so a 24-hour chart reads ~24 rows per queue instead of
 * ~1,440. Same measures as the per-minute rows: counts and sums add up, maxima are the hour's
 * maximum, `depth` is the hour's last sample. `rolled_at` says when the hour was last recomputed:
 * the metrics query trusts an hour only once it was recomputed after the hour had ended (see
 * functions/queries/metrics.ts), and reads the minutes for any other hour.
 */
export const metricsHourly = pgTable(
  'watchtower_metrics_hourly',
  {
    hour: timestamp('hour', { withTimezone: true, mode: 'date' }).notNull(),
    ...rollupMeasures(),
    // The last depth sample of the hour (the latest minute that had one), when a host saw one.
    depth: bigint('depth', { mode: 'number' }),
    rolledAt: timestamp('rolled_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.connection, t.queue] })],
);
