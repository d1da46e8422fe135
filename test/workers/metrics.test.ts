import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { rollupMetrics } from '../../functions/housekeeping/rollup-metrics';
import type { HousekeepingContext } from '../../functions/housekeeping/step';
import type { JobStats } from '../../functions/queries/job-stats';
import { type MetricsRow, type MetricsSeries, toMetricsSeries } from '../../functions/queries/metrics';
import { adminHeaders, bearer, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { Seed } from './support/seed';

type Metrics = MetricsSeries & { stats: JobStats };

let database: NeonDatabaseHandle;
let seed: Seed;
const queue = unique('metrics-q');
const connection = unique('metrics-conn');

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  const at = { connection, queue };
  await seed.metrics([
    {
      ...at,
      minutesAgo: 0,
      queued: 5,
      completed: 3,
      failed: 1,
      runMsSum: 400,
      runMsMax: 200,
      waitMsSum: 80,
      waitMsMax: 50,
      depth: 7,
    },
    {
      ...at,
      minutesAgo: 3,
      queued: 5,
      completed: 4,
      failed: 0,
      runMsSum: 400,
      runMsMax: 150,
      waitMsSum: 80,
      waitMsMax: 30,
      depth: 9,
    },
    {
      ...at,
      minutesAgo: 180,
      queued: 2,
      completed: 2,
      failed: 0,
      runMsSum: 200,
      runMsMax: 100,
      waitMsSum: 40,
      waitMsMax: 20,
    },
    // Older than a day: in no figure.
    { ...at, minutesAgo: 26 * 60, queued: 900, completed: 900, failed: 900, runMsSum: 1, waitMsSum: 1 },
  ]);
  // Some cron (any suite's) may have rolled up the hour of the row 180 minutes old before it was
  // written: it shows from the next rollup on, as in production from the next cron run.
  await rollupMetrics.run(housekeepingContext());
});

afterAll(async () => {
  await database.db.execute(sql`delete from watchtower_metrics_hourly where queue = ${queue}`);
  await seed.cleanup();
  await database.close();
});

/** What the cron's rollup step gets: this suite's database and the Worker's bindings. */
function housekeepingContext(): HousekeepingContext {
  return {
    db: database.db,
    env,
    get bus(): never {
      throw new Error('the rollup step needs no bus');
    },
  };
}

async function metrics(): Promise<Metrics> {
  const response = await call('/api/metrics', { headers: adminHeaders() });
  expect(response.status).toBe(200);
  return response.json<Metrics>();
}

describe('GET /api/metrics', () => {
  it('computes per-queue durations, wait time and failure rate over 24 hours from the rollups', async () => {
    const body = await metrics();
    expect(body.queues.find((q) => q.queue === queue)).toEqual({
      connection,
      queue,
      completed: 9,
      failed: 1,
      avgRunMs: 100,
      maxRunMs: 200,
      avgWaitMs: 20,
      maxWaitMs: 50,
      failureRate: 0.1,
    });
    expect(body.queueDepths.find((q) => q.queue === queue)).toMatchObject({ connection, depth: 7 });
    expect(body.failureRate === null || (body.failureRate >= 0 && body.failureRate <= 1)).toBe(true);
    expect(body.waitTime.maxMs).toBeGreaterThanOrEqual(50);
  });

  it('gives 24 hourly and 10 per-minute points, oldest first, with this minute and hour included', async () => {
    const body = await metrics();
    expect(body.hourlyThroughput).toHaveLength(24);
    expect(body.minuteThroughput).toHaveLength(10);
    const hours = body.hourlyThroughput.map((point) => Date.parse(point.hour));
    expect(hours.every((hour, i) => i === 0 || hour - hours[i - 1]! === 3_600_000)).toBe(true);
    expect(body.minuteThroughput.at(-1)!.completed).toBeGreaterThanOrEqual(3);
    expect(body.hourlyThroughput.reduce((sum, point) => sum + point.completed, 0)).toBeGreaterThanOrEqual(9);
    expect(Date.now() - Date.parse(body.minuteThroughput.at(-1)!.minute)).toBeLessThan(120_000);
  });

  it('includes the stats and the worker stats, and is readable by a viewer', async () => {
    const viewer = await createToken('viewer');
    const response = await call('/api/metrics', { headers: bearer(viewer.token) });
    expect(response.status).toBe(200);
    const body = await response.json<Metrics>();
    expect(body.stats.completed_last_hour).toBeGreaterThanOrEqual(7);
    expect(Object.keys(body.workers).sort()).toEqual([
      'byStatus',
      'hosts',
      'jobsFailed',
      'jobsProcessed',
      'memoryBytes',
      'total',
    ]);
    expect((await call('/api/metrics')).status).toBe(401);
    expect((await call('/api/metrics?x=1', { headers: adminHeaders() })).status).toBe(200);
  });
});

/**
 * The hourly rollups (watchtower_metrics_hourly, filled by the cron's rollup step) must not change
 * the answer. Other suites write minute rows at most a few hours old and their cron runs recompute
 * only the last hours, so hours 5 or more before this one change only by what this suite does:
 * those are compared with the route's answer before seeding, the rest through this suite's queue.
 */
describe('GET /api/metrics with the hourly rollups', () => {
  const hourlyQueue = unique('metrics-hourly-q');
  const hourlyConnection = unique('metrics-hourly-conn');
  /** Oldest hour (hours before this one) this suite alone writes. */
  const QUIET_HOURS_AGO = 5;

  interface Totals {
    queued: number;
    completed: number;
    failed: number;
  }

  /**
   * The hour every row of this suite is placed from, read once: a test running across the turn of
   * an hour still puts its rows where it meant to.
   */
  let anchor = '';
  /** The route's answer before this suite wrote anything. */
  let baseline: Metrics;
  const hoursBefore = (hours: number) => sql`${anchor}::timestamptz - make_interval(hours => ${hours})`;

  beforeAll(async () => {
    const [row] = rowsOf<{ hour: string }>(
      await database.db.execute(sql`select date_trunc('hour', now())::text as hour`),
    );
    anchor = row?.hour ?? '';
    baseline = await metrics();
  });

  afterAll(async () => {
    await database.db.execute(sql`delete from watchtower_metrics where queue = ${hourlyQueue}`);
    await database.db.execute(sql`delete from watchtower_metrics_hourly where queue = ${hourlyQueue}`);
  });

  /** A minute row `minute` minutes into the hour `hoursAgo` hours before the anchor (0: its hour). */
  async function insertMinute(
    hoursAgo: number,
    minute: number,
    values: { queued: number; completed: number; failed: number; run: number; wait: number; depth?: number },
  ): Promise<void> {
    await database.db.execute(sql`
      insert into watchtower_metrics (minute, connection, queue, queued, completed, failed, retried,
        run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max, depth)
      values (${hoursBefore(hoursAgo)} + make_interval(mins => ${minute}),
        ${hourlyConnection}, ${hourlyQueue}, ${values.queued}, ${values.completed}, ${values.failed}, 1,
        ${values.run}, ${Math.ceil(values.run / 2)}, ${values.wait}, ${Math.ceil(values.wait / 3)},
        ${values.depth ?? null})`);
  }

  /**
   * This suite's queue computed from its minute rows alone, the way GET /api/metrics did before the
   * hourly table: per hour of the last 24 and over the 24 hours, with the route's own arithmetic.
   */
  async function fromMinutes(): Promise<{
    now: string;
    hours: Map<string, Totals>;
    queue: MetricsSeries['queues'][number];
  }> {
    const [row] = rowsOf<{
      now: string;
      hours: Array<Totals & { hour: string }> | null;
      queues: MetricsRow['queues'];
    }>(
      await database.db.execute(sql`
        with day as (
          select date_trunc('hour', minute) as hour, connection, queue, queued, completed, failed,
                 run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max
          from watchtower_metrics
          where queue = ${hourlyQueue} and minute >= date_trunc('hour', now()) - interval '23 hours'
        )
        select to_char(date_trunc('hour', now()) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now,
          (select json_agg(json_build_object('hour', to_char(hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'queued', queued, 'completed', completed, 'failed', failed))
           from (select hour, sum(queued) as queued, sum(completed) as completed, sum(failed) as failed
                 from day group by hour) h) as hours,
          (select json_agg(json_build_object('connection', connection, 'queue', queue, 'completed', completed,
             'failed', failed, 'run_sum', run_sum, 'run_max', run_max, 'wait_sum', wait_sum, 'wait_max', wait_max))
           from (select connection, queue, sum(completed) as completed, sum(failed) as failed,
                        sum(run_ms_sum) as run_sum, max(run_ms_max) as run_max,
                        sum(wait_ms_sum) as wait_sum, max(wait_ms_max) as wait_max
                 from day group by connection, queue) q) as queues`),
    );
    const series = toMetricsSeries({
      hours: null,
      minutes: null,
      depths: null,
      queues: row?.queues ?? null,
      workers: null,
      jobs_processed: null,
      jobs_failed: null,
      memory_bytes: null,
      hosts: null,
    });
    const queue = series.queues[0];
    if (!queue) throw new Error('no minute rows for the queue');
    const hours = new Map<string, Totals>();
    for (const h of row?.hours ?? []) {
      hours.set(h.hour, {
        queued: Number(h.queued),
        completed: Number(h.completed),
        failed: Number(h.failed),
      });
    }
    return { now: row?.now ?? '', hours, queue };
  }

  /** Per hour, what `after` has more than `before`, for the hours both answers hold at least QUIET_HOURS_AGO old. */
  function quietDelta(before: Metrics, after: Metrics): Map<string, Totals> {
    const old = new Map(before.hourlyThroughput.map((h) => [h.hour, h]));
    const cutoff = Date.parse(after.hourlyThroughput.at(-1)!.hour) - QUIET_HOURS_AGO * 3_600_000;
    const delta = new Map<string, Totals>();
    for (const h of after.hourlyThroughput) {
      const was = old.get(h.hour);
      if (!was || Date.parse(h.hour) > cutoff) continue;
      delta.set(h.hour, {
        queued: h.queued - was.queued,
        completed: h.completed - was.completed,
        failed: h.failed - was.failed,
      });
    }
    return delta;
  }

  /**
   * The route's answer agrees with the minutes alone: this queue's figures, and in the quiet hours
   * what it gained since the baseline is what this queue's minutes hold.
   */
  async function expectSameAsMinutes(): Promise<Metrics> {
    let body = await metrics();
    let expected = await fromMinutes();
    // Both must see the same 24 hours: ask again if the hour turned in between.
    for (let tries = 0; tries < 3 && body.hourlyThroughput.at(-1)?.hour !== expected.now; tries++) {
      body = await metrics();
      expected = await fromMinutes();
    }
    expect(body.hourlyThroughput.at(-1)?.hour).toBe(expected.now);
    expect(body.queues.find((q) => q.queue === hourlyQueue)).toEqual(expected.queue);
    const delta = quietDelta(baseline, body);
    expect(delta.size).toBeGreaterThanOrEqual(24 - QUIET_HOURS_AGO - 2);
    for (const [hour, totals] of delta) {
      expect({ hour, ...totals }).toEqual({
        hour,
        ...(expected.hours.get(hour) ?? { queued: 0, completed: 0, failed: 0 }),
      });
    }
    return body;
  }

  async function hourlyRows(): Promise<
    Array<Totals & { hoursAgo: number; depth: number | null; fresh: boolean }>
  > {
    return rowsOf<Totals & { hoursAgo: number; depth: number | null; fresh: boolean }>(
      await database.db.execute(sql`
        select (extract(epoch from ${anchor}::timestamptz - hour) / 3600)::int as "hoursAgo",
               queued::int, completed::int, failed::int, depth::int,
               rolled_at > now() - interval '10 minutes' as fresh
        from watchtower_metrics_hourly where queue = ${hourlyQueue} order by hour`),
    );
  }

  it('answers the same from the minutes alone, before and after the cron rolls them up by the hour', async () => {
    const m = (n: number, depth?: number) => ({
      queued: n + 1,
      completed: n,
      failed: n % 3,
      run: 10 * n,
      wait: 4 * n,
      depth,
    });
    // Quiet hours (some minute rows in one hour, the 22nd beside the window's edge), two recent
    // hours, this hour, and one hour outside the 24.
    await insertMinute(6, 5, m(3, 11));
    await insertMinute(6, 50, m(4));
    await insertMinute(9, 0, m(5, 2));
    await insertMinute(13, 59, m(6));
    await insertMinute(22, 30, m(7));
    await insertMinute(23, 10, m(8, 9));
    await insertMinute(25, 10, m(900));
    await insertMinute(2, 10, m(2, 4));
    await insertMinute(0, 0, m(1, 3));
    // Stamped in the next hour (a host's clock ahead): in the per-queue figures, as always.
    await insertMinute(-1, 5, m(10));

    // Whether or not some other suite's cron has rolled these hours up yet.
    await expectSameAsMinutes();

    const account = await rollupMetrics.run(housekeepingContext());
    expect(account).toMatch(/^\d+ rows written in \d+ hours/);
    const rolled = await hourlyRows();
    expect(rolled.filter((row) => [0, 2, 6, 9, 13, 22, 23].includes(row.hoursAgo))).toEqual([
      { hoursAgo: 23, queued: 9, completed: 8, failed: 2, depth: 9, fresh: true },
      { hoursAgo: 22, queued: 8, completed: 7, failed: 1, depth: null, fresh: true },
      { hoursAgo: 13, queued: 7, completed: 6, failed: 0, depth: null, fresh: true },
      { hoursAgo: 9, queued: 6, completed: 5, failed: 2, depth: 2, fresh: true },
      { hoursAgo: 6, queued: 9, completed: 7, failed: 1, depth: 11, fresh: true },
      { hoursAgo: 2, queued: 3, completed: 2, failed: 2, depth: 4, fresh: true },
      { hoursAgo: 0, queued: 2, completed: 1, failed: 1, depth: 3, fresh: true },
    ]);
    const afterRollup = await expectSameAsMinutes();

    // Idempotent: a second run writes the same figures.
    await rollupMetrics.run(housekeepingContext());
    expect((await hourlyRows()).map(({ fresh: _, ...row }) => row)).toEqual(
      rolled.map(({ fresh: _, ...row }) => row),
    );
    expect(afterRollup.hourlyThroughput).toHaveLength(24);
    expect(afterRollup.minuteThroughput).toHaveLength(10);
  });

  it('folds a minute row that arrives after its hour was rolled up into it on the next run', async () => {
    await rollupMetrics.run(housekeepingContext());
    await insertMinute(2, 40, { queued: 50, completed: 40, failed: 10, run: 500, wait: 100 });
    // Counted at once, before any rollup: the late row marks its hour untrusted (a trigger).
    await expectSameAsMinutes();
    await rollupMetrics.run(housekeepingContext());
    const late = (await hourlyRows()).find((row) => row.hoursAgo === 2);
    expect(late).toMatchObject({ queued: 53, completed: 42, failed: 12 });
    await expectSameAsMinutes();
  });

  it('reads a finished hour from the hourly table only once rolled up after it ended, and this hour from the minutes', async () => {
    await rollupMetrics.run(housekeepingContext());
    const truth = await fromMinutes();
    const figures = async () => (await metrics()).queues.find((q) => q.queue === hourlyQueue);
    const bump = (hoursAgo: number) =>
      database.db.execute(sql`
        update watchtower_metrics_hourly set completed = completed + 1000
        where queue = ${hourlyQueue} and hour = ${hoursBefore(hoursAgo)}`);

    // This hour's hourly row is never read.
    await bump(0);
    expect(await figures()).toEqual(truth.queue);

    // A finished hour rolled up after it ended is read from the hourly table...
    await bump(9);
    expect((await figures())?.completed).toBe(truth.queue.completed + 1000);

    // ...but not when it was rolled up before its end (plus the grace): the minutes again.
    await database.db.execute(sql`
      update watchtower_metrics_hourly set rolled_at = hour + interval '30 minutes'
      where hour = ${hoursBefore(9)}`);
    expect(await figures()).toEqual(truth.queue);

    // The next run rolls that hour up again (catch-up) and the answer is the minutes' one.
    await rollupMetrics.run(housekeepingContext());
    expect((await hourlyRows()).find((row) => row.hoursAgo === 9)).toMatchObject({
      completed: 5,
      fresh: true,
    });
    await expectSameAsMinutes();
  });
});
