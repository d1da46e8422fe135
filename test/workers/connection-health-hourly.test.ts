import { env } from 'cloudflare:workers';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { connectionHealth, connectionHealthHourly } from '../../drizzle/schema';
import { pruneConnectionHealth } from '../../functions/housekeeping/prune-connection-health';
import { rollupConnectionHealth } from '../../functions/housekeeping/rollup-connection-health';
import type { HousekeepingContext } from '../../functions/housekeeping/step';
import type { HealthAnswer } from '../../functions/queries/connection-health';
import { bearer, call, createToken, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { Seed } from './support/seed';

/**
 * The hourly health rollups (watchtower_connection_health_hourly): the cron's rollup step, the
 * ranges that read them, and their retention. Rows are this suite's hosts' and connections' own
 * (other suites' hosts write health rows, and other suites' crons roll them up, meanwhile).
 */
let database: NeonDatabaseHandle;
let seed: Seed;
let viewer: string;
const host = unique('hourly-host');
const connRolled = unique('hourly-rolled');
const connOld = unique('hourly-old');
const connPrune = unique('hourly-prune');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The start of the database's current hour. */
let thisHour = 0;
/** A finished hour, two before the current one: within the rollup's look-back. */
let rolledHour = 0;
const minuteOf = (hour: number, minutes: number) => new Date(hour + minutes * MINUTE);

type MinuteRow = typeof connectionHealth.$inferInsert;
type HourRow = typeof connectionHealthHourly.$inferInsert;

const minuteRow = (connection: string, minute: Date, fields: Partial<MinuteRow> = {}): MinuteRow => ({
  minute,
  hostId: host,
  connection,
  kind: 'redis',
  checks: 2,
  errors: 0,
  up: true,
  latencyP50Ms: 1,
  latencyP95Ms: 2,
  ...fields,
});

const hourRow = (connection: string, hour: number, fields: Partial<HourRow> = {}): HourRow => ({
  hour: new Date(hour),
  hostId: host,
  connection,
  kind: 'redis',
  checks: 50,
  errors: 5,
  up: false,
  lastMinute: new Date(hour + 59 * MINUTE),
  latencyP50Ms: 4,
  latencyP95Ms: 8,
  lastError: 'old error',
  lastErrorAt: new Date(hour + 30 * MINUTE),
  ...fields,
});

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  viewer = (await createToken('viewer')).token;
  thisHour = new Date(
    rowsOf<{ h: string }>(await database.db.execute(sql`select date_trunc('hour', now()) as h`))[0]?.h ?? 0,
  ).getTime();
  rolledHour = thisHour - 2 * HOUR;
  await seed.host({ hostId: host, connections: [connRolled, connOld, connPrune] });
  await database.db.insert(connectionHealth).values([
    minuteRow(connRolled, minuteOf(rolledHour, 5), { latencyP50Ms: 1, latencyP95Ms: 10 }),
    minuteRow(connRolled, minuteOf(rolledHour, 10), {
      up: false,
      errors: 2,
      latencyP50Ms: 3,
      latencyP95Ms: 20,
      lastError: 'connect ECONNREFUSED',
    }),
    minuteRow(connRolled, minuteOf(rolledHour, 20), {
      latencyP50Ms: 2,
      latencyP95Ms: 30,
      redisVersion: '7.2.4',
      usedMemory: 5_000,
      maxmemory: 0,
      maxmemoryPolicy: 'noeviction',
      connectedClients: 3,
    }),
    // A minute of the current hour, never trusted from the hourly table.
    minuteRow(connRolled, minuteOf(thisHour, 0), { checks: 1 }),
  ]);
});

afterAll(async () => {
  await database.db.delete(connectionHealth).where(eq(connectionHealth.hostId, host));
  await database.db.delete(connectionHealthHourly).where(eq(connectionHealthHourly.hostId, host));
  await seed.cleanup();
  await database.close();
});

/** What the cron's steps get: this suite's database and the Worker's bindings. */
function housekeepingContext(): HousekeepingContext {
  return {
    db: database.db,
    env,
    get bus(): never {
      throw new Error('the health steps need no bus');
    },
  };
}

async function health(range: string): Promise<HealthAnswer> {
  const response = await call(`/api/health/connections?range=${range}`, { headers: bearer(viewer) });
  expect(response.status).toBe(200);
  return response.json<HealthAnswer>();
}

const find = (answer: HealthAnswer, name: string) => answer.connections.find((c) => c.name === name);

async function hourlyRows(connection: string) {
  return database.db
    .select()
    .from(connectionHealthHourly)
    .where(and(eq(connectionHealthHourly.hostId, host), eq(connectionHealthHourly.connection, connection)))
    .orderBy(connectionHealthHourly.hour);
}

describe('the connection health rollup', () => {
  it('rolls the minutes of a finished hour up per host and connection, and again to the same rows', async () => {
    const before = find(await health('24h'), connRolled);
    await rollupConnectionHealth.run(housekeepingContext());
    const rows = await hourlyRows(connRolled);
    const finished = rows.find((row) => row.hour.getTime() === rolledHour);
    expect(finished).toMatchObject({
      kind: 'redis',
      checks: 6,
      errors: 2,
      // The newest minute's.
      up: true,
      lastMinute: minuteOf(rolledHour, 20),
      // The median of the minutes' p50s, the 95th percentile of their p95s (20 + 0.9 * 10).
      latencyP50Ms: 2,
      lastError: 'connect ECONNREFUSED',
      lastErrorAt: minuteOf(rolledHour, 10),
      redisVersion: '7.2.4',
      usedMemory: 5_000,
      maxmemoryPolicy: 'noeviction',
      connectedClients: 3,
    });
    expect(finished?.latencyP95Ms).toBeCloseTo(29, 9);
    // Rolled up after the hour ended: trusted.
    expect(finished?.rolledAt.getTime()).toBeGreaterThan(rolledHour + HOUR + 5 * MINUTE);

    // The current hour is rolled up too, but not trusted yet (rolled up before it ended).
    const current = rows.find((row) => row.hour.getTime() === thisHour);
    expect(current).toMatchObject({ checks: 1, lastMinute: minuteOf(thisHour, 0) });
    expect(current?.rolledAt.getTime()).toBeLessThan(thisHour + HOUR);

    // A second run finds nothing changed and leaves the finished hour's row as it is.
    await rollupConnectionHealth.run(housekeepingContext());
    const again = await hourlyRows(connRolled);
    expect(again.find((row) => row.hour.getTime() === rolledHour)).toEqual(finished);
    expect(again.map((row) => row.hour)).toEqual(rows.map((row) => row.hour));

    // The 24h range gives the same hour before and after the rollup.
    const after = find(await health('24h'), connRolled);
    const point = (answer: typeof before) =>
      answer?.series.find((p) => p.at === new Date(rolledHour).toISOString());
    expect(point(after)).toMatchObject({ checks: 6, errors: 2, p50Ms: 2 });
    expect(point(after)?.p95Ms).toBeCloseTo(29, 9);
    expect(point(after)).toEqual(point(before));
    expect(after?.checks).toBe(7);
    expect(after?.lastErrorAt).toBe(minuteOf(rolledHour, 10).toISOString());
  });

  it('counts a minute row written after its hour was rolled up at once, and folds it in on the next run', async () => {
    await rollupConnectionHealth.run(housekeepingContext());
    await database.db
      .insert(connectionHealth)
      .values(
        minuteRow(connRolled, minuteOf(rolledHour, 40), { checks: 4, latencyP50Ms: 5, latencyP95Ms: 40 }),
      );
    // The trigger marked the hour untrusted: it is read from the minutes again.
    const stale = rowsOf<{ stale: boolean }>(
      await database.db.execute(sql`
        select rolled_at = '-infinity' as stale from watchtower_connection_health_hourly
        where hour = ${new Date(rolledHour)} and host_id = ${host} and connection = ${connRolled}`),
    );
    expect(stale).toEqual([{ stale: true }]);
    const point = async () =>
      find(await health('24h'), connRolled)?.series.find((p) => p.at === new Date(rolledHour).toISOString());
    expect(await point()).toMatchObject({ checks: 10, p50Ms: 2.5 });

    await rollupConnectionHealth.run(housekeepingContext());
    const [folded] = (await hourlyRows(connRolled)).filter((row) => row.hour.getTime() === rolledHour);
    expect(folded).toMatchObject({ checks: 10, lastMinute: minuteOf(rolledHour, 40), latencyP50Ms: 2.5 });
    expect(folded?.rolledAt.getTime()).toBeGreaterThan(rolledHour + HOUR);
    expect(await point()).toMatchObject({ checks: 10, p50Ms: 2.5 });

    await database.db
      .delete(connectionHealth)
      .where(and(eq(connectionHealth.hostId, host), eq(connectionHealth.minute, minuteOf(rolledHour, 40))));
    await rollupConnectionHealth.run(housekeepingContext());
  });

  it('reads a finished hour from the hourly row once rolled up after it ended, never this hour', async () => {
    const hour = thisHour - 10 * HOUR;
    const untrusted = thisHour - 11 * HOUR;
    await database.db.insert(connectionHealthHourly).values([
      hourRow(connOld, hour, { checks: 70, rolledAt: new Date(thisHour) }),
      // Rolled up while the hour was still running: its minutes (none here) count instead.
      hourRow(connOld, untrusted, { checks: 90, rolledAt: new Date(untrusted + 30 * MINUTE) }),
    ]);
    // The current hour's row is never read, whatever its rolled_at: this hour comes from the minutes.
    await database.db
      .insert(connectionHealthHourly)
      .values(hourRow(connRolled, thisHour, { checks: 1000, rolledAt: new Date(thisHour + 2 * HOUR) }))
      .onConflictDoUpdate({
        target: [
          connectionHealthHourly.hour,
          connectionHealthHourly.hostId,
          connectionHealthHourly.connection,
        ],
        set: { checks: 1000, rolledAt: new Date(thisHour + 2 * HOUR) },
      });
    try {
      const day = await health('24h');
      const old = find(day, connOld);
      expect(old?.series.find((p) => p.at === new Date(hour).toISOString())).toMatchObject({
        checks: 70,
        p50Ms: 4,
        p95Ms: 8,
      });
      expect(old?.series.find((p) => p.at === new Date(untrusted).toISOString())).toMatchObject({
        checks: 0,
      });
      expect(old?.checks).toBe(70);
      const current = find(day, connRolled)?.series.at(-1);
      expect(current).toMatchObject({ at: new Date(thisHour).toISOString(), checks: 1 });
    } finally {
      await database.db
        .delete(connectionHealthHourly)
        .where(
          and(
            eq(connectionHealthHourly.hostId, host),
            inArray(connectionHealthHourly.hour, [new Date(hour), new Date(untrusted), new Date(thisHour)]),
            inArray(connectionHealthHourly.connection, [connOld, connRolled]),
            sql`${connectionHealthHourly.checks} in (70, 90, 1000)`,
          ),
        );
    }
  });

  it('answers 30d and 90d per hour, the older hours from the hourly rows alone', async () => {
    const fortyDaysAgo = thisHour - 40 * DAY;
    await database.db.insert(connectionHealthHourly).values([hourRow(connOld, fortyDaysAgo)]);

    const quarter = await health('90d');
    expect(quarter).toMatchObject({ range: '90d', step: 'hour' });
    const old = find(quarter, connOld);
    expect(old?.series).toHaveLength(2160);
    expect(old?.series.at(-1)?.at).toBe(new Date(thisHour).toISOString());
    expect(old?.series.find((p) => p.at === new Date(fortyDaysAgo).toISOString())).toEqual({
      at: new Date(fortyDaysAgo).toISOString(),
      checks: 50,
      errors: 5,
      p50Ms: 4,
      p95Ms: 8,
    });
    expect(old).toMatchObject({
      checks: 50,
      errors: 5,
      lastError: 'old error',
      lastErrorAt: new Date(fortyDaysAgo + 30 * MINUTE).toISOString(),
      // The host's newest check of it is that hour's last.
      state: 'down',
      hosts: [{ hostId: host, up: false, checkedAt: new Date(fortyDaysAgo + 59 * MINUTE).toISOString() }],
    });
    // The rolled-up hour and the current one are there too, over 90 days.
    expect(find(quarter, connRolled)?.checks).toBe(7);

    const month = await health('30d');
    expect(month).toMatchObject({ range: '30d', step: 'hour' });
    expect(find(month, connOld)).toBeUndefined();
    expect(find(month, connRolled)?.series).toHaveLength(720);
  });

  it('prunes minute rows after 30 days and hourly rows after 90, keeping the hours of pruned minutes', async () => {
    const [row] = rowsOf<{ m: string; h31: string; h91: string }>(
      await database.db.execute(sql`
        select date_trunc('minute', now()) - interval '31 days' as m,
               date_trunc('hour', now()) - interval '31 days' as h31,
               date_trunc('hour', now()) - interval '91 days' as h91`),
    );
    const old = new Date(row?.m ?? 0);
    const h31 = new Date(row?.h31 ?? 0).getTime();
    const h91 = new Date(row?.h91 ?? 0).getTime();
    await database.db
      .insert(connectionHealth)
      .values([minuteRow(connPrune, old), minuteRow(connPrune, new Date(thisHour - 29 * DAY))]);
    await database.db
      .insert(connectionHealthHourly)
      .values([hourRow(connPrune, h31, { checks: 31 }), hourRow(connPrune, h91, { checks: 91 })]);

    const account = await pruneConnectionHealth.run(housekeepingContext());
    expect(account).toMatch(/rows older than 30 d, \d+ hourly rows older than 90 d/);

    const minutes = await database.db
      .select({ minute: connectionHealth.minute })
      .from(connectionHealth)
      .where(and(eq(connectionHealth.hostId, host), eq(connectionHealth.connection, connPrune)));
    expect(minutes).toEqual([{ minute: new Date(thisHour - 29 * DAY) }]);
    expect((await hourlyRows(connPrune)).map((r) => r.checks)).toEqual([31]);
  });
});
