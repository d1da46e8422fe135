import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inArray, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import {
  commands,
  connectionHealth,
  hosts,
  jobAttempts,
  jobs,
  loginAttempts,
  metrics,
  metricsHourly,
  sessions,
  workers,
} from '../../drizzle/schema';
import { numberVariable } from '../../functions/config';
import type { Env } from '../../functions/env';
import { hourlyRetentionDays } from '../../functions/housekeeping/prune-rollups';
import worker from '../../functions/index';
import { createUser, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { job, Seed } from './support/seed';

/**
 * The cron inside workerd. Other suites share the database and some run the cron with the default
 * retention (7 days and more) meanwhile, so every "old" row here is 2 to 5 days old and these runs
 * use shorter retention: only this file's runs can prune them, and they touch nothing the other
 * suites seed (those rows are minutes old at most).
 */

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

/** The test's retention: completed, metrics and commands 1 day, failed 4 days. */
const retention: Partial<Env> = {
  WATCHTOWER_RETENTION_COMPLETED_DAYS: '1',
  WATCHTOWER_RETENTION_FAILED_DAYS: '4',
  WATCHTOWER_RETENTION_METRICS_DAYS: '1',
  WATCHTOWER_RETENTION_COMMANDS_DAYS: '1',
};

async function runCron(overrides: Partial<Env> = {}): Promise<void> {
  const ctx = createExecutionContext();
  try {
    await worker.scheduled(createScheduledController({ cron: '* * * * *' }), { ...env, ...overrides }, ctx);
  } finally {
    await waitOnExecutionContext(ctx);
  }
}

let database: NeonDatabaseHandle;
let seed: Seed;
const commandIds: string[] = [];
/** Queues whose hourly rollups a test made (Seed.cleanup removes only their minute rows). */
const hourlyQueues: string[] = [];

beforeAll(() => {
  database = openTestDatabase();
  seed = new Seed(database.db);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await seed.cleanup();
  if (commandIds.length > 0) await database.db.delete(commands).where(inArray(commands.id, commandIds));
  if (hourlyQueues.length > 0) {
    await database.db.delete(metricsHourly).where(inArray(metricsHourly.queue, hourlyQueues));
  }
  await database.close();
});

async function jobIdsLeft(queue: string): Promise<string[]> {
  const rows = await database.db
    .select({ jobId: jobs.jobId })
    .from(jobs)
    .where(sql`${jobs.queue} = ${queue}`)
    .orderBy(jobs.jobId);
  return rows.map((row) => row.jobId);
}

async function seedCommand(status: 'pending' | 'done' | 'failed' | 'expired', finishedMsAgo: number | null) {
  const id = crypto.randomUUID();
  commandIds.push(id);
  await database.db.insert(commands).values({
    id,
    targetKind: 'host',
    targetId: `cron-test-${id}`,
    type: 'host.status',
    status,
    createdAt: ago((finishedMsAgo ?? 0) + 60_000),
    expiresAt: status === 'pending' ? new Date(Date.now() + 3_600_000) : ago(finishedMsAgo ?? 0),
    finishedAt: finishedMsAgo === null ? null : ago(finishedMsAgo),
  });
  return id;
}

describe('the cron', () => {
  it('prunes exactly what is past its retention, sweeps stale hosts and logs one summary line', async () => {
    const queue = unique('cron-q');
    hourlyQueues.push(queue);
    await seed.jobs([
      job(queue, 'completed-old', { completedAt: ago(2 * DAY) }),
      job(queue, 'deleted-old', { status: 'deleted', completedAt: ago(2 * DAY) }),
      job(queue, 'completed-new', { completedAt: ago(DAY / 2) }),
      job(queue, 'failed-old', { status: 'failed', completedAt: ago(5 * DAY) }),
      job(queue, 'failed-new', { status: 'failed', completedAt: ago(2 * DAY) }),
      job(queue, 'processing-long', { status: 'processing', queuedAt: ago(10 * DAY) }),
    ]);
    const attempt = (jobId: string, n: number, status: 'completed' | 'failed') => ({
      queue,
      jobId,
      attempt: n,
      status,
      startedAt: ago(6 * DAY),
      finishedAt: ago(5 * DAY),
    });
    await seed.attempts([
      attempt('completed-old', 1, 'completed'),
      attempt('failed-old', 1, 'failed'),
      attempt('failed-old', 2, 'failed'),
      attempt('failed-new', 1, 'failed'),
    ]);
    await seed.metrics([
      { queue, minutesAgo: 2 * 24 * 60, completed: 1 },
      { queue, minutesAgo: 60, completed: 2 },
    ]);
    const oldDone = await seedCommand('done', 2 * DAY);
    const oldFailed = await seedCommand('failed', 2 * DAY);
    const oldExpired = await seedCommand('expired', 2 * DAY);
    const newDone = await seedCommand('done', 3_600_000);
    const pending = await seedCommand('pending', null);

    const stale = unique('cron-stale-host');
    const fresh = unique('cron-fresh-host');
    const w = (workerId: string, hostId: string, status: 'running' | 'stopped', lastHeartbeat: Date) => ({
      workerId,
      hostId,
      supervisor: 'sup',
      queue,
      status,
      currentJob: status === 'running' ? 'job-1' : null,
      lastHeartbeat,
    });
    await seed.host({ hostId: stale, lastHeartbeat: ago(60_000) });
    await seed.host({ hostId: fresh });
    await seed.workers([
      w(`${stale}-w1`, stale, 'running', ago(60_000)),
      w(`${stale}-w2`, stale, 'stopped', ago(60_000)),
      w(`${fresh}-w1`, fresh, 'running', new Date()),
    ]);

    const user = await createUser('viewer');
    const sessionOld = `cron-${crypto.randomUUID()}`;
    const sessionLive = `cron-${crypto.randomUUID()}`;
    await database.db.insert(sessions).values([
      { id: sessionOld, userId: user.id, expiresAt: ago(2 * DAY) },
      { id: sessionLive, userId: user.id, expiresAt: new Date(Date.now() + DAY) },
    ]);
    const rateOld = `cron-${crypto.randomUUID()}`;
    const rateNow = `cron-${crypto.randomUUID()}`;
    await database.db.insert(loginAttempts).values([
      { key: rateOld, windowStart: ago(3_600_000), failures: 3 },
      { key: rateNow, windowStart: new Date(), failures: 1 },
    ]);

    // The fresh host and worker beat just before the run, however long the seeding took.
    await database.db.execute(
      sql`update watchtower_hosts set last_heartbeat = now() where host_id = ${fresh}`,
    );
    await database.db.execute(
      sql`update watchtower_workers set last_heartbeat = now() where host_id = ${fresh}`,
    );
    const log = vi.spyOn(console, 'log');
    await runCron(retention);

    const summaries = log.mock.calls.filter((args) => String(args[0]).startsWith('watchtower: housekeeping'));
    expect(summaries).toHaveLength(1);
    expect(String(summaries[0]?.[0])).toMatch(
      /dead hosts: .*completed jobs: .*failed jobs: .*metrics: .*metrics rollup: \d+ rows written in \d+ hours.*connection health rollup: \d+ rows written in \d+ hours/,
    );

    expect(await jobIdsLeft(queue)).toEqual(['completed-new', 'failed-new', 'processing-long']);
    const attemptsLeft = await database.db
      .select({ jobId: jobAttempts.jobId })
      .from(jobAttempts)
      .where(sql`${jobAttempts.queue} = ${queue}`);
    expect(attemptsLeft).toEqual([{ jobId: 'failed-new' }]);
    const metricsLeft = await database.db
      .select({ completed: metrics.completed })
      .from(metrics)
      .where(sql`${metrics.queue} = ${queue}`);
    expect(metricsLeft).toEqual([{ completed: 2 }]);
    // The minute row of an hour ago is rolled up by the hour.
    const hourlyLeft = await database.db
      .select({ completed: metricsHourly.completed })
      .from(metricsHourly)
      .where(sql`${metricsHourly.queue} = ${queue} and ${metricsHourly.hour} > now() - interval '1 day'`);
    expect(hourlyLeft).toEqual([{ completed: 2 }]);
    const commandsLeft = await database.db
      .select({ id: commands.id })
      .from(commands)
      .where(inArray(commands.id, [oldDone, oldFailed, oldExpired, newDone, pending]));
    expect(commandsLeft.map((row) => row.id).sort()).toEqual([newDone, pending].sort());

    const hostRows = await database.db
      .select({ hostId: hosts.hostId, status: hosts.status })
      .from(hosts)
      .where(inArray(hosts.hostId, [stale, fresh]))
      .orderBy(hosts.hostId);
    expect(hostRows).toEqual(
      [
        { hostId: stale, status: 'dead' },
        { hostId: fresh, status: 'running' },
      ].sort((a, b) => a.hostId.localeCompare(b.hostId)),
    );
    const workerRows = await database.db
      .select({ workerId: workers.workerId, status: workers.status, currentJob: workers.currentJob })
      .from(workers)
      .where(inArray(workers.hostId, [stale, fresh]))
      .orderBy(workers.workerId);
    expect(workerRows).toEqual(
      [
        { workerId: `${stale}-w1`, status: 'dead', currentJob: null },
        { workerId: `${stale}-w2`, status: 'stopped', currentJob: null },
        { workerId: `${fresh}-w1`, status: 'running', currentJob: 'job-1' },
      ].sort((a, b) => a.workerId.localeCompare(b.workerId)),
    );

    const sessionsLeft = await database.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(inArray(sessions.id, [sessionOld, sessionLive]));
    expect(sessionsLeft).toEqual([{ id: sessionLive }]);
    const attemptsRateLeft = await database.db
      .select({ key: loginAttempts.key })
      .from(loginAttempts)
      .where(inArray(loginAttempts.key, [rateOld, rateNow]));
    expect(attemptsRateLeft).toEqual([{ key: rateNow }]);
  });

  it('deletes hosts and worker processes gone for longer than their retention, and no others', async () => {
    const gone = unique('cron-gone-host');
    const lately = unique('cron-lately-dead');
    const stillRunning = unique('cron-quiet-host');
    const row = (
      workerId: string,
      hostId: string,
      status: 'dead' | 'stopped' | 'running',
      daysAgo: number,
    ) => ({
      workerId,
      hostId,
      supervisor: 'sup',
      queue: 'cron-hosts-q',
      status,
      lastHeartbeat: ago(daysAgo * DAY),
    });
    await seed.host({ hostId: gone, status: 'dead', lastHeartbeat: ago(3 * DAY) });
    await seed.host({ hostId: lately, status: 'stopped', lastHeartbeat: ago(DAY / 2) });
    // Long silent but never marked gone: the dead-host sweep marks it, then it is gone as long.
    await seed.host({ hostId: stillRunning, status: 'running', lastHeartbeat: ago(3 * DAY) });
    await seed.workers([
      row(`${gone}-w1`, gone, 'dead', 3),
      row(`${gone}-w2`, gone, 'stopped', 3),
      row(`${lately}-w1`, lately, 'stopped', 0.5),
    ]);
    const ids = [gone, lately, stillRunning];
    const hostsLeft = async () =>
      database.db
        .select({ hostId: hosts.hostId, status: hosts.status })
        .from(hosts)
        .where(inArray(hosts.hostId, ids))
        .orderBy(hosts.hostId);
    const workersLeft = async () =>
      (
        await database.db
          .select({ workerId: workers.workerId })
          .from(workers)
          .where(inArray(workers.hostId, ids))
          .orderBy(workers.workerId)
      ).map((w) => w.workerId);

    // 0 keeps them forever.
    await runCron({ ...retention, WATCHTOWER_RETENTION_HOSTS_DAYS: '0' });
    expect(await hostsLeft()).toEqual(
      [
        { hostId: gone, status: 'dead' },
        { hostId: lately, status: 'stopped' },
        { hostId: stillRunning, status: 'dead' },
      ].sort((a, b) => a.hostId.localeCompare(b.hostId)),
    );
    expect(await workersLeft()).toHaveLength(3);

    await runCron({ ...retention, WATCHTOWER_RETENTION_HOSTS_DAYS: '1' });
    expect(await hostsLeft()).toEqual([{ hostId: lately, status: 'stopped' }]);
    expect(await workersLeft()).toEqual([`${lately}-w1`]);
  });

  it('prunes the hourly metrics rollups after 90 days, longer when the minutes are kept longer', async () => {
    const queue = unique('cron-hourly-q');
    hourlyQueues.push(queue);
    const hourly = (daysAgo: number) => ({
      hour: sql`date_trunc('hour', now()) - make_interval(days => ${daysAgo})`,
      queue,
      completed: daysAgo,
      rolledAt: sql`now() - make_interval(days => ${daysAgo}) + interval '2 hours'`,
    });
    await database.db.insert(metricsHourly).values([hourly(2), hourly(80), hourly(130)]);
    // Minutes kept 1 day, hourly rollups 90 days (other suites' crons, minutes kept 30 days, agree).
    await runCron(retention);
    const left = await database.db
      .select({ completed: metricsHourly.completed })
      .from(metricsHourly)
      .where(sql`${metricsHourly.queue} = ${queue}`)
      .orderBy(metricsHourly.completed);
    expect(left).toEqual([{ completed: 2 }, { completed: 80 }]);
    // The rule, for the retentions other suites' runs would interfere with here.
    expect([0, 1, 30, 90, 120, 0.5].map(hourlyRetentionDays)).toEqual([0, 90, 90, 90, 120, 90]);
  });

  it("prunes the connections' health rows past WATCHTOWER_RETENTION_HEALTH_DAYS, and no others", async () => {
    const hostId = unique('cron-health-host');
    const row = (daysAgo: number, connection: string) => ({
      minute: sql`date_trunc('minute', now()) - make_interval(days => ${daysAgo})`,
      hostId,
      connection,
      kind: 'redis' as const,
      checks: 2,
      errors: 0,
      up: true,
    });
    await database.db.insert(connectionHealth).values([row(0, 'fresh'), row(2, 'old'), row(5, 'older')]);
    const left = async () =>
      (
        await database.db
          .select({ connection: connectionHealth.connection })
          .from(connectionHealth)
          .where(sql`${connectionHealth.hostId} = ${hostId}`)
          .orderBy(connectionHealth.connection)
      ).map((r) => r.connection);
    // The default (30 days) keeps them all; 1 day keeps only the fresh one.
    await runCron();
    expect(await left()).toEqual(['fresh', 'old', 'older']);
    await runCron({ ...retention, WATCHTOWER_RETENTION_HEALTH_DAYS: '1' });
    expect(await left()).toEqual(['fresh']);
    await database.db.delete(connectionHealth).where(sql`${connectionHealth.hostId} = ${hostId}`);
    // The runs rolled the fresh row's hour up too.
    await database.db.execute(sql`delete from watchtower_connection_health_hourly where host_id = ${hostId}`);
  });

  it('deletes at most one batch per table per run when told so; the next run carries on', async () => {
    const queue = unique('cron-batch-q');
    await seed.jobs(
      Array.from({ length: 12 }, (_, i) =>
        job(queue, `old-${String(i).padStart(2, '0')}`, { completedAt: ago(2 * DAY + i * 60_000) }),
      ),
    );
    const bounded = { ...retention, WATCHTOWER_PRUNE_BATCH_SIZE: '5', WATCHTOWER_PRUNE_MAX_BATCHES: '1' };
    await runCron(bounded);
    // Oldest first: the five with the largest index went.
    expect(await jobIdsLeft(queue)).toEqual([
      'old-00',
      'old-01',
      'old-02',
      'old-03',
      'old-04',
      'old-05',
      'old-06',
    ]);
    await runCron(bounded);
    expect(await jobIdsLeft(queue)).toEqual(['old-00', 'old-01']);
    // Two batches per run: the rest goes in one.
    await runCron({ ...bounded, WATCHTOWER_PRUNE_MAX_BATCHES: '2' });
    expect(await jobIdsLeft(queue)).toEqual([]);
  });

  it('runs the other steps when one fails, then fails the run naming the step and the variable', async () => {
    const queue = unique('cron-fail-q');
    await seed.jobs([job(queue, 'completed-old', { completedAt: ago(2 * DAY) })]);
    const errors = vi.spyOn(console, 'error');
    await expect(runCron({ ...retention, WATCHTOWER_RETENTION_FAILED_DAYS: 'thirty' })).rejects.toThrow(
      /failed jobs: WATCHTOWER_RETENTION_FAILED_DAYS must be a number of days .* got "thirty"/,
    );
    expect(errors.mock.calls.some((args) => String(args[0]).includes('"failed jobs" failed'))).toBe(true);
    expect(await jobIdsLeft(queue)).toEqual([]);
  });
});

describe('the housekeeping variables', () => {
  const read = (value: string | undefined) =>
    numberVariable(
      { ...env, WATCHTOWER_RETENTION_METRICS_DAYS: value },
      'WATCHTOWER_RETENTION_METRICS_DAYS',
      30,
      {
        min: 0,
        max: 36_500,
        unit: 'days',
      },
    );

  it('default when unset or blank, and accept whole and fractional numbers', () => {
    expect(read(undefined)).toBe(30);
    expect(read('  ')).toBe(30);
    expect(read('0')).toBe(0);
    expect(read(' 14 ')).toBe(14);
    expect(read('0.5')).toBe(0.5);
  });

  it.each(['-1', 'NaN', '1e3', '7d', '36501', 'Infinity', '0x10'])(
    'refuse %j, naming the variable',
    (value) => {
      expect(() => read(value)).toThrow(
        `WATCHTOWER_RETENTION_METRICS_DAYS must be a number of days from 0 to 36500, got ${JSON.stringify(value)}`,
      );
    },
  );
});
