import { env } from 'cloudflare:workers';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import {
  type AlertKind,
  type AlertScope,
  alertDeliveries,
  alertEvents,
  alertRules,
  alertSilences,
  alerts,
} from '../../drizzle/schema';
import { evaluateRules } from '../../functions/alerts/evaluate';
import { pruneAlerts } from '../../functions/housekeeping/prune-alerts';
import { unique } from './support/api';
import { openTestDatabase } from './support/database';
import { job, Seed } from './support/seed';

/**
 * Each kind of rule against rows as hosts and the recorder write them. Rules are inserted
 * disabled (no other suite's cron evaluates them) with forEvaluations 1, and evaluated here once
 * or twice; each case has a subject that must fire and one that must not.
 */

let database: NeonDatabaseHandle;
let seed: Seed;
const prefix = unique('alert-kinds');
const connection = `${prefix}-conn`;
const label = `${prefix}-label`;
const ruleIds: string[] = [];

beforeAll(() => {
  database = openTestDatabase();
  seed = new Seed(database.db);
});

afterAll(async () => {
  await database.db.execute(sql`delete from watchtower_alert_rules where name like ${`${prefix}%`}`);
  await database.db.execute(
    sql`delete from watchtower_connection_health where connection like ${`${prefix}%`}`,
  );
  await seed.cleanup();
  await database.close();
});

async function rule(kind: AlertKind, scope: AlertScope, params: Record<string, number>) {
  const [row] = await database.db
    .insert(alertRules)
    .values({
      name: unique(`${prefix}-${kind}`),
      kind,
      scope,
      params,
      forEvaluations: 1,
      enabled: false,
      createdBy: 'test',
      updatedBy: 'test',
    })
    .returning();
  if (!row) throw new Error('no rule');
  ruleIds.push(row.id);
  return row;
}

async function states(ruleId: string): Promise<Record<string, string>> {
  const rows = await database.db.select().from(alerts).where(eq(alerts.ruleId, ruleId));
  return Object.fromEntries(rows.map((row) => [row.subject, row.state]));
}

async function evaluate(...rules: (typeof alertRules.$inferSelect)[]): Promise<void> {
  const summary = await evaluateRules(database.db, rules);
  expect(summary.failed).toEqual([]);
}

describe('rule kinds', () => {
  it('queue_depth, queue_wait and queue_stalled read the recorded waiting jobs; failure_rate the rollups', async () => {
    const held = `${prefix}-held`;
    const busy = `${prefix}-busy`;
    const failing = `${prefix}-failing`;
    await seed.jobs([
      ...[1, 2, 3].map((n) => job(held, `held-${n}`, { connection, status: 'queued', secondsAgo: 600 })),
      job(busy, 'busy-1', { connection, status: 'queued', secondsAgo: 5 }),
    ]);
    await seed.metrics([
      { connection, queue: held, minutesAgo: 10, queued: 3 },
      { connection, queue: busy, minutesAgo: 0, queued: 1, completed: 40 },
      { connection, queue: failing, minutesAgo: 1, completed: 5, failed: 15 },
    ]);
    const byConnection: AlertScope = { type: 'connection', connection };
    const depth = await rule('queue_depth', byConnection, { waiting: 2 });
    const wait = await rule('queue_wait', byConnection, { seconds: 60 });
    const stalled = await rule('queue_stalled', byConnection, { minutes: 5 });
    const rate = await rule('failure_rate', byConnection, { percent: 50, minJobs: 10, minutes: 5 });
    const rateFew = await rule('failure_rate', byConnection, { percent: 50, minJobs: 100, minutes: 5 });
    await evaluate(depth, wait, stalled, rate, rateFew);
    const firing = (subject: string) => [`${connection}/${subject}`, 'firing'];
    const ok = (subject: string) => [`${connection}/${subject}`, 'ok'];
    expect(await states(depth.id)).toMatchObject(Object.fromEntries([firing(held), ok(busy)]));
    expect(await states(wait.id)).toMatchObject(Object.fromEntries([firing(held), ok(busy)]));
    expect(await states(stalled.id)).toMatchObject(Object.fromEntries([firing(held), ok(busy)]));
    expect(await states(rate.id)).toMatchObject(Object.fromEntries([firing(failing), ok(busy), ok(held)]));
    expect(Object.values(await states(rateFew.id)).every((state) => state === 'ok')).toBe(true);
  });

  it('host_down goes by machine and ignores a clean stop; crash_loop counts restarts within its window', async () => {
    const labels = { configuration: { labels: [label] } };
    await seed.host({
      hostId: `${prefix}-silent`,
      hostname: `${prefix}-silent-machine`,
      stats: labels,
      lastHeartbeat: new Date(Date.now() - 120_000),
    });
    await seed.host({
      hostId: `${prefix}-stopped`,
      hostname: `${prefix}-stopped-machine`,
      status: 'stopped',
      stats: labels,
      lastHeartbeat: new Date(Date.now() - 120_000),
    });
    await seed.host({ hostId: `${prefix}-alive`, hostname: `${prefix}-alive-machine`, stats: labels });
    // Another machine's host without the label: outside the scope.
    await seed.host({
      hostId: `${prefix}-other`,
      hostname: `${prefix}-other-machine`,
      lastHeartbeat: new Date(Date.now() - 120_000),
    });
    const down = await rule('host_down', { type: 'host', label }, { seconds: 30 });
    await evaluate(down);
    expect(await states(down.id)).toEqual({
      [`${prefix}-silent-machine`]: 'firing',
      [`${prefix}-stopped-machine`]: 'ok',
      [`${prefix}-alive-machine`]: 'ok',
    });

    const workerId = `${prefix}-worker`;
    await seed.workers([
      {
        workerId,
        hostId: `${prefix}-alive`,
        supervisor: 's',
        connection,
        queue: 'q',
        status: 'running',
        restarts: 2,
      },
    ]);
    const loop = await rule('crash_loop', { type: 'host', label }, { restarts: 3, minutes: 10 });
    await evaluate(loop);
    // Restarts from before the first evaluation are not "in the last 10 minutes".
    expect(await states(loop.id)).toMatchObject({ [`${prefix}-alive`]: 'ok' });
    await database.db.execute(sql`update watchtower_workers set restarts = 6 where worker_id = ${workerId}`);
    await seed.heartbeat();
    await evaluate(loop);
    expect(await states(loop.id)).toMatchObject({ [`${prefix}-alive`]: 'firing' });
  });

  it('connection_slow and maxmemory_policy read the newest checks of live hosts', async () => {
    const hostId = `${prefix}-checker`;
    const slow = `${prefix}-slow`;
    const quick = `${prefix}-quick`;
    await seed.host({ hostId, connections: [slow, quick] });
    const row = (name: string, p95: number, policy: string) =>
      sql`(date_trunc('minute', now()), ${hostId}, ${name}, 'redis', 10, 0, true, 1, ${p95}, ${policy})`;
    await database.db.execute(sql`
      insert into watchtower_connection_health (minute, host_id, connection, kind, checks, errors, up, latency_p50_ms, latency_p95_ms, maxmemory_policy)
      values ${row(slow, 800, 'allkeys-lru')}, ${row(quick, 3, 'noeviction')}`);
    const latency = await rule('connection_slow', { type: 'all' }, { p95Ms: 250 });
    const policy = await rule('maxmemory_policy', { type: 'all' }, {});
    await evaluate(latency, policy);
    expect(await states(latency.id)).toMatchObject({ [slow]: 'firing', [quick]: 'ok' });
    expect(await states(policy.id)).toMatchObject({ [slow]: 'firing', [quick]: 'ok' });
  });
});

describe('alert history retention', () => {
  it('the cron deletes events, finished deliveries and ended silences past the retention, and nothing else', async () => {
    const old = new Date(Date.now() - 100 * 86_400_000);
    const ruleId = crypto.randomUUID();
    const channelId = crypto.randomUUID();
    const event = (at: Date) => ({
      at,
      ruleId,
      ruleName: `${prefix}-gone`,
      kind: 'host_down' as const,
      subject: 'm',
      event: 'firing' as const,
      message: 'x',
    });
    const events = await database.db
      .insert(alertEvents)
      .values([event(old), event(new Date())])
      .returning();
    const delivery = (status: 'sent' | 'failed' | 'pending', createdAt: Date) => ({
      channelId,
      channelName: `${prefix}-channel`,
      status,
      createdAt,
      // Not due: no cron run of another suite attempts (and finishes) the pending one meanwhile.
      nextAttemptAt: new Date(Date.now() + 86_400_000),
      payload: { type: 'test' },
    });
    const deliveries = await database.db
      .insert(alertDeliveries)
      .values([
        delivery('sent', old),
        delivery('failed', old),
        delivery('pending', old),
        delivery('sent', new Date()),
      ])
      .returning();
    const silences = await database.db
      .insert(alertSilences)
      .values([
        {
          ruleId,
          startsAt: old,
          endsAt: new Date(old.getTime() + 60_000),
          reason: `${prefix} old`,
          createdBy: 't',
        },
        { ruleId, endsAt: new Date(Date.now() + 60_000), reason: `${prefix} now`, createdBy: 't' },
      ])
      .returning();
    const summary = await pruneAlerts.run({
      db: database.db,
      get bus(): never {
        throw new Error('pruning needs no bus');
      },
      env,
    });
    expect(summary).toMatch(/^\d+ events, \d+ deliveries, \d+ silences older than 90 d$/);
    const left = async <T extends { id: unknown }>(
      rows: T[],
      table: 'events' | 'deliveries' | 'silences',
    ) => {
      const ids = rows.map((row) => row.id);
      const query =
        table === 'events'
          ? sql`select id from watchtower_alert_events where id in ${ids} order by id`
          : table === 'deliveries'
            ? sql`select id from watchtower_alert_deliveries where id in ${ids} order by id`
            : sql`select id from watchtower_alert_silences where id in ${ids} order by id`;
      return (await database.db.execute(query)).rows.map((row) => String(row.id));
    };
    expect(await left(events, 'events')).toEqual([String(events[1]?.id)]);
    expect(await left(deliveries, 'deliveries')).toEqual([
      String(deliveries[2]?.id),
      String(deliveries[3]?.id),
    ]);
    expect(await left(silences, 'silences')).toEqual([String(silences[1]?.id)]);
    await database.db.execute(sql`delete from watchtower_alert_events where rule_id = ${ruleId}`);
    await database.db.execute(sql`delete from watchtower_alert_deliveries where channel_id = ${channelId}`);
    await database.db.execute(sql`delete from watchtower_alert_silences where rule_id = ${ruleId}`);
  });
});
