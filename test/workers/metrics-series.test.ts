import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { rollupMetrics } from '../../functions/housekeeping/rollup-metrics';
import type { HousekeepingContext } from '../../functions/housekeeping/step';
import type { MetricsSeriesAnswer } from '../../functions/queries/metrics-series';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';

/**
 * GET /api/metrics/series against rollup rows this suite writes at known times, in a connection of
 * its own (other suites write metrics at the same time: every figure is read through this
 * connection, or per queue). The expected figures are computed here from the seeded rows for the
 * window the answer reports, so a minute or hour that turns during the test moves the window and
 * the expectation together; a few points are also checked by hand.
 */
let database: NeonDatabaseHandle;
const connection = unique('series-conn');
const queueA = unique('series-a');
const queueB = unique('series-b');
const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Measures {
  completed: number;
  failed: number;
  runSum: number;
  runMax: number;
  waitSum: number;
  waitMax: number;
}
interface Seeded extends Measures {
  queue: string;
  at: number;
}

const m = (completed: number, failed = 0, runSum = 10 * completed, waitSum = 2 * completed): Measures => ({
  completed,
  failed,
  runSum,
  runMax: Math.ceil(runSum / 2),
  waitSum,
  waitMax: Math.ceil(waitSum / 3),
});

/** Minute rows and hourly rows (rolled up after their hour ended) this suite wrote. */
const minuteRows: Seeded[] = [];
const hourRows: Seeded[] = [];
let anchorMinute = 0;
let anchorHour = 0;

function housekeepingContext(): HousekeepingContext {
  return {
    db: database.db,
    env,
    get bus(): never {
      throw new Error('the rollup step needs no bus');
    },
  };
}

beforeAll(async () => {
  database = openTestDatabase();
  // The database's clock, in ms since the epoch: the route buckets by it.
  const [now] = rowsOf<{ minute: string; hour: string }>(
    await database.db.execute(
      sql`select (extract(epoch from date_trunc('minute', now())) * 1000)::bigint::text as minute,
                 (extract(epoch from date_trunc('hour', now())) * 1000)::bigint::text as hour`,
    ),
  );
  anchorMinute = Number(now?.minute);
  anchorHour = Number(now?.hour);
  expect(anchorMinute > 0 && anchorHour > 0).toBe(true);

  const minutesAgo = (n: number) => anchorMinute - n * MINUTE;
  const intoHour = (hoursAgo: number, minute: number) => anchorHour - hoursAgo * HOUR + minute * MINUTE;
  minuteRows.push(
    // The 1-hour window: this minute in both queues, the one before, its oldest minute, one past it.
    { queue: queueA, at: minutesAgo(0), ...m(3, 1, 400, 80), runMax: 200, waitMax: 50 },
    { queue: queueB, at: minutesAgo(0), ...m(4, 0, 100, 20), runMax: 40, waitMax: 10 },
    { queue: queueA, at: minutesAgo(1), ...m(2, 2) },
    { queue: queueA, at: minutesAgo(59), ...m(5) },
    { queue: queueA, at: minutesAgo(60), ...m(100) },
    // Hours: the first and last minute of one hour add up; the last minute of the hour before
    // stays in its own hour.
    // (queueB's rows in the 1-hour window are all in this hour: its hour before holds only these.)
    { queue: queueB, at: intoHour(1, 0), ...m(6, 1) },
    { queue: queueB, at: intoHour(1, 59), ...m(7) },
    { queue: queueA, at: intoHour(2, 59), ...m(8) },
    { queue: queueA, at: intoHour(23, 30), ...m(9) },
    { queue: queueA, at: intoHour(24, 30), ...m(10) },
    // Rolled up below: the hourly row wins over this minute (as once the cron has rolled it).
    { queue: queueA, at: intoHour(60, 10), ...m(1) },
    { queue: queueA, at: intoHour(167, 5), ...m(11) },
    { queue: queueA, at: intoHour(168, 5), ...m(12) },
    // A host's clock ahead: in no window.
    { queue: queueA, at: intoHour(-1, 5), ...m(13) },
  );
  hourRows.push(
    { queue: queueA, at: intoHour(60, 0), ...m(50, 3) },
    { queue: queueA, at: intoHour(100, 0), ...m(20, 5) },
  );
  // One statement each: a cron running meanwhile (another suite's) rolls up all of them or none.
  await database.db.execute(sql`
    insert into watchtower_metrics (minute, connection, queue, queued, completed, failed, retried,
      run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max)
    values ${sql.join(
      minuteRows.map(
        (row) => sql`(${new Date(row.at).toISOString()}::timestamptz, ${connection}, ${row.queue}, 0,
          ${row.completed}, ${row.failed}, 0, ${row.runSum}, ${row.runMax}, ${row.waitSum}, ${row.waitMax})`,
      ),
      sql`, `,
    )}`);
  await database.db.execute(sql`
    insert into watchtower_metrics_hourly (hour, connection, queue, queued, completed, failed, retried,
      run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max, rolled_at)
    values ${sql.join(
      hourRows.map(
        (row) => sql`(${new Date(row.at).toISOString()}::timestamptz, ${connection}, ${row.queue}, 0,
          ${row.completed}, ${row.failed}, 0, ${row.runSum}, ${row.runMax}, ${row.waitSum}, ${row.waitMax},
          ${new Date(row.at + HOUR + 10 * MINUTE).toISOString()}::timestamptz)`,
      ),
      sql`, `,
    )}`);
});

afterAll(async () => {
  await database.db.execute(sql`delete from watchtower_metrics where connection = ${connection}`);
  await database.db.execute(sql`delete from watchtower_metrics_hourly where connection = ${connection}`);
  await database.close();
});

async function series(query: string, headers = adminHeaders()): Promise<MetricsSeriesAnswer> {
  const response = await call(`/api/metrics/series?${query}`, { headers });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json<MetricsSeriesAnswer>();
}

const mine = (queue?: string) =>
  `connection=${encodeURIComponent(connection)}${queue ? `&queue=${encodeURIComponent(queue)}` : ''}`;

/** The figures the API gives for these sums over `minutes` minutes. */
function figures(rows: Measures[], minutes: number) {
  const completed = rows.reduce((sum, row) => sum + row.completed, 0);
  const failed = rows.reduce((sum, row) => sum + row.failed, 0);
  const finished = completed + failed;
  const runSum = rows.reduce((sum, row) => sum + row.runSum, 0);
  const waitSum = rows.reduce((sum, row) => sum + row.waitSum, 0);
  return {
    completed,
    failed,
    perMinute: finished / minutes,
    avgRunMs: finished > 0 ? Math.round(runSum / finished) : null,
    maxRunMs: finished > 0 ? Math.max(...rows.map((row) => row.runMax)) : null,
    avgWaitMs: finished > 0 ? Math.round(waitSum / finished) : null,
    maxWaitMs: finished > 0 ? Math.max(...rows.map((row) => row.waitMax)) : null,
    failureRate: finished > 0 ? failed / finished : null,
  };
}

/**
 * What this suite's rows should give for the answer's window: per step, the seeded rows of the
 * queues asked for, a rolled-up hour from its hourly row instead of its minutes.
 */
function expected(answer: MetricsSeriesAnswer, queues: string[]) {
  const step = answer.stepSeconds * 1000;
  const rowsAt = (start: number) => {
    const rolled = hourRows.filter((row) => queues.includes(row.queue) && row.at === start);
    const hourOf = (at: number) => Math.floor(at / HOUR) * HOUR;
    const minutes = minuteRows.filter(
      (row) =>
        queues.includes(row.queue) &&
        row.at >= start &&
        row.at < start + step &&
        !(step === HOUR && hourRows.some((hour) => hour.queue === row.queue && hour.at === hourOf(row.at))),
    );
    return [...rolled, ...minutes];
  };
  const points = answer.points.map((point) => ({
    at: point.at,
    ...figures(rowsAt(Date.parse(point.at)), answer.stepSeconds / 60),
  }));
  const all = answer.points.flatMap((point) => rowsAt(Date.parse(point.at)));
  return { points, totals: figures(all, (answer.points.length * answer.stepSeconds) / 60) };
}

function pointAt(answer: MetricsSeriesAnswer, at: number) {
  return answer.points.find((point) => Date.parse(point.at) === at);
}

describe('GET /api/metrics/series', () => {
  it('1h: 60 points per minute, this minute last, for all queues of a connection and for one queue', async () => {
    const all = await series(`range=1h&${mine()}`);
    expect(all).toMatchObject({ range: '1h', step: 'minute', stepSeconds: 60, connection, queue: null });
    expect(all.points).toHaveLength(60);
    const times = all.points.map((point) => Date.parse(point.at));
    expect(times.every((at, i) => i === 0 || at - times[i - 1]! === MINUTE)).toBe(true);
    expect(times.at(-1)! - anchorMinute).toBeLessThanOrEqual(2 * MINUTE);
    expect({ points: all.points, totals: all.totals }).toEqual(expected(all, [queueA, queueB]));
    // By hand: this minute holds both queues; a minute's rate is its count.
    expect(pointAt(all, anchorMinute)).toMatchObject({
      completed: 7,
      failed: 1,
      perMinute: 8,
      avgRunMs: 63,
      maxRunMs: 200,
      avgWaitMs: 13,
      maxWaitMs: 50,
      failureRate: 0.125,
    });
    // The row an hour old is outside.
    expect(all.totals.completed).toBeLessThan(100);

    const one = await series(`range=1h&${mine(queueB)}`);
    expect(one.queue).toBe(queueB);
    expect({ points: one.points, totals: one.totals }).toEqual(expected(one, [queueB]));
    expect(pointAt(one, anchorMinute)).toMatchObject({ completed: 4, failed: 0, failureRate: 0 });
  });

  it('24h: 24 points per hour, the minutes of an hour added up, the window edges kept', async () => {
    const all = await series(`range=24h&${mine()}`);
    expect(all).toMatchObject({ range: '24h', step: 'hour', stepSeconds: 3600 });
    expect(all.points).toHaveLength(24);
    expect({ points: all.points, totals: all.totals }).toEqual(expected(all, [queueA, queueB]));
    const b = await series(`range=24h&${mine(queueB)}`);
    expect({ points: b.points, totals: b.totals }).toEqual(expected(b, [queueB]));
    if (Date.parse(all.points.at(-1)!.at) === anchorHour) {
      // By hand, when the hour did not turn during the test.
      expect(all.points[0]!.at).toBe(new Date(anchorHour - 23 * HOUR).toISOString());
      expect(pointAt(b, anchorHour - HOUR)).toMatchObject({ completed: 13, failed: 1, perMinute: 14 / 60 });
      expect(pointAt(b, anchorHour - 2 * HOUR)).toMatchObject({ completed: 0, failed: 0, failureRate: null });
      expect(pointAt(all, anchorHour - 2 * HOUR)).toMatchObject({ completed: 8, failed: 0 });
      expect(pointAt(all, anchorHour - 23 * HOUR)).toMatchObject({ completed: 9, perMinute: 9 / 60 });
      expect(b.totals.completed).toBe(13 + 4);
    }
  });

  it('7d: 168 points per hour, a rolled-up hour read from the hourly table, one queue only', async () => {
    const one = await series(`range=7d&${mine(queueA)}`);
    expect(one).toMatchObject({ range: '7d', step: 'hour', stepSeconds: 3600, queue: queueA });
    expect(one.points).toHaveLength(168);
    expect({ points: one.points, totals: one.totals }).toEqual(expected(one, [queueA]));
    // The hourly row (50 completed), not the minute row under it (1).
    expect(pointAt(one, anchorHour - 60 * HOUR)).toMatchObject({ completed: 50, failed: 3 });
    expect(pointAt(one, anchorHour - 100 * HOUR)).toMatchObject({
      completed: 20,
      failed: 5,
      failureRate: 0.2,
    });
    expect(pointAt(one, anchorHour - 167 * HOUR)).toMatchObject({ completed: 11 });
    expect(one.points[0]!.at).toBe(new Date(Date.parse(one.points.at(-1)!.at) - 167 * HOUR).toISOString());
  });

  it('answers the same once the cron has rolled the hours up', async () => {
    await rollupMetrics.run(housekeepingContext());
    for (const query of [`range=24h&${mine()}`, `range=7d&${mine()}`]) {
      const answer = await series(query);
      expect({ points: answer.points, totals: answer.totals }).toEqual(expected(answer, [queueA, queueB]));
    }
  });

  it('without a filter: every queue in the list with its own figures, and the totals include them', async () => {
    const all = await series('range=1h');
    expect(all).toMatchObject({ connection: null, queue: null });
    const mineOnly = await series(`range=1h&${mine()}`);
    for (const queue of [queueA, queueB]) {
      const listed = all.queues.find((q) => q.connection === connection && q.queue === queue);
      const alone = await series(`range=1h&${mine(queue)}`);
      expect(listed).toEqual({ connection, queue, ...alone.totals });
    }
    expect(all.totals.completed).toBeGreaterThanOrEqual(mineOnly.totals.completed);
    // The list does not follow the filter: the page's queue picker reads it.
    const filtered = await series(`range=1h&${mine(queueB)}`);
    expect(filtered.queues.filter((q) => q.connection === connection).map((q) => q.queue)).toEqual(
      [queueA, queueB].sort(),
    );
  });

  it('defaults to 1h, uses the ETag, and is readable by a viewer but not without a session', async () => {
    const viewer = await createToken('viewer');
    const answer = await series(mine(), bearer(viewer.token));
    expect(answer.range).toBe('1h');
    const first = await call(`/api/metrics/series?range=7d&${mine()}`, { headers: adminHeaders() });
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const again = await call(`/api/metrics/series?range=7d&${mine()}`, {
      headers: { ...adminHeaders(), 'if-none-match': etag ?? '' },
    });
    // The same answer unless a minute turned or a row arrived meanwhile.
    expect([200, 304]).toContain(again.status);
    expect((await call(`/api/metrics/series?${mine()}`)).status).toBe(401);
  });

  it('refuses bad input with 400 and the one error shape', async () => {
    for (const query of [
      'range=2h',
      'range=',
      'range=1H',
      'range=1h&range=7d',
      'connection=',
      'connection=a%20b',
      `connection=${'c'.repeat(201)}`,
      'queue=',
      'queue=a%00b',
      'queue=line%0Abreak',
      `queue=${'q'.repeat(201)}`,
      'limit=10',
    ]) {
      const response = await call(`/api/metrics/series?${query}`, { headers: adminHeaders() });
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).code, query).toBe('bad_request');
    }
  });
});
