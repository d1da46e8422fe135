import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase } from '../../scripts/local-only/services';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  hostRow,
  killAllHosts,
  runCli,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/**
 * `status`, `restart`, `terminate --wait` and `prune` act on every host and every job record of a
 * database: they run against a database of their own, so they never touch other tests' hosts.
 */
describe('the operator commands', () => {
  const name = `watchtower_cli_${uniqueName('t').replace(/-/g, '_')}`;
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const env = cliEnv({ DATABASE_URL: databaseUrl });
  const scratch = scratchDir();
  let database: ReturnType<typeof createNodeDatabase>;

  beforeAll(async () => {
    await ensureDatabase(databaseUrl);
    await migrateDatabase(databaseUrl);
    database = createNodeDatabase(databaseUrl, { max: 2 });
  });

  afterAll(async () => {
    await killAllHosts();
    await database?.close();
    const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.end();
    scratch.cleanup();
  });

  // Six CLI runs (each a Node start through tsx) and hosts restarted: past 30 s on two loaded cores
  // (seen at load 16), so its own limit.
  it('status, restart and terminate --wait work on the running hosts', async () => {
    const { db } = database;
    expect((await runCli(['status'], { env })).code).toBe(1);

    const config = writeConfig(scratch.dir, [
      { name: uniqueName('ops'), queues: [uniqueName('ops-queue')], minProcesses: 1, maxProcesses: 1 },
    ]);
    const host = await startHost(config, db, { env });
    const [before] = await workersOf(db, host.hostId);

    const status = await runCli(['status'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`Host ${host.hostId}: running`);
    expect(status.stdout).toContain(before!.worker_id);
    const json = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as {
      running: boolean;
      hosts: Array<{ host_id: string; workers: Array<{ worker_id: string; status: string }> }>;
    };
    expect(json.running).toBe(true);
    expect(json.hosts[0]?.workers[0]).toMatchObject({ worker_id: before!.worker_id, status: 'running' });

    const restart = await runCli(['restart'], { env });
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stdout).toContain(`${host.hostId} (`);
    expect(restart.stdout).toContain('restarting its worker processes');
    await waitFor(
      async () => {
        const [after] = await workersOf(db, host.hostId);
        return (
          after?.worker_id === before!.worker_id && after.status === 'running' && after.pid !== before!.pid
        );
      },
      15_000,
      'the worker to come back with a new pid',
    );

    const terminate = await runCli(['terminate', '--wait'], { env, timeoutMs: 40_000 });
    expect(terminate.code, terminate.stderr).toBe(0);
    expect(terminate.stdout).toContain('terminating');
    expect(terminate.stdout).toContain('All hosts stopped.');
    expect(await host.exited).toBe(0);
    expect((await hostRow(db, host.hostId))?.status).toBe('stopped');
    // The seed's key is set too, for hosts that only know it.
    const key = rowsOf<{ value: { at: number } }>(
      await db.execute(sql`select value from watchtower_bus_entries where key = 'watchtower:terminate'`),
    );
    expect(key[0]?.value.at).toBeGreaterThan(Date.now() - 60_000);
    expect((await runCli(['status'], { env })).stdout).toContain('Watchtower is inactive');
  }, 90_000);

  /** A job record finished `daysAgo` days ago, with one attempt row. */
  const insertJob = (queue: string, jobId: string, status: string, daysAgo: number) =>
    database.db.execute(sql`
      with job as (
        insert into watchtower_jobs (job_id, job_timestamp, queue, status, completed_at, queued_at)
        values (${jobId}, 0, ${queue}, ${status}, now() - make_interval(secs => ${daysAgo * 86_400}), now() - make_interval(secs => ${daysAgo * 86_400}))
        returning job_id, job_timestamp
      )
      insert into watchtower_job_attempts (queue, job_id, job_timestamp, attempt, status, started_at)
      select ${queue}, job_id, job_timestamp, 1, ${status === 'failed' ? 'failed' : 'completed'}, now() from job`);

  const jobIdsOf = async (queue: string) =>
    rowsOf<{ job_id: string }>(
      await database.db.execute(
        sql`select job_id from watchtower_jobs where queue = ${queue} order by job_id`,
      ),
    ).map((r) => r.job_id);

  it('prune deletes old records and their attempts in batches, and asks before --all', async () => {
    const { db } = database;
    const queue = uniqueName('prune-queue');
    const insert = (jobId: string, status: string, daysAgo: number) =>
      insertJob(queue, jobId, status, daysAgo);
    for (let i = 0; i < 5; i++) await insert(`old-done-${i}`, 'completed', 10);
    await insert('new-done', 'completed', 1);
    await insert('old-failed', 'failed', 40);
    await insert('recent-failed', 'failed', 10);

    const pruned = await runCli(['prune', '--batch=2'], { env });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(
      'Deleted 5 completed job record(s) older than 7 day(s) and 1 failed one(s) older than 30 day(s).',
    );
    expect(await jobIdsOf(queue)).toEqual(['new-done', 'recent-failed']);
    const attempts = rowsOf<{ n: number }>(
      await db.execute(sql`select count(*)::int as n from watchtower_job_attempts where queue = ${queue}`),
    );
    expect(attempts[0]?.n).toBe(2);

    const refused = await runCli(['prune', '--all'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('no terminal to ask on: add --force');
    const all = await runCli(['prune', '--all', '--force'], { env });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain('Deleted 2 job record(s).');
  });

  it('prune keeps a status forever at 0 days, as the retention variables do, and --dry-run only counts', async () => {
    const queue = uniqueName('prune-keep');
    await insertJob(queue, 'done-old', 'completed', 400);
    await insertJob(queue, 'done-recent', 'completed', 0.01);
    await insertJob(queue, 'failed-old', 'failed', 400);
    await insertJob(queue, 'failed-recent', 'failed', 0.01);
    const everything = ['done-old', 'done-recent', 'failed-old', 'failed-recent'];

    const dry = await runCli(['prune', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'Would delete 1 completed job record(s) older than 7 day(s) and 1 failed one(s) older than 30 day(s). Nothing deleted (--dry-run).',
    );
    expect(await jobIdsOf(queue)).toEqual(everything);

    const dryAll = await runCli(['prune', '--all', '--dry-run'], { env });
    expect(dryAll.code, dryAll.stderr).toBe(0);
    expect(dryAll.stdout).toContain(
      'Would delete 4 job record(s) (4 attempt(s)). Nothing deleted (--dry-run).',
    );
    expect(await jobIdsOf(queue)).toEqual(everything);

    // 0 is "keep forever", never "delete everything of that status".
    const keepCompleted = await runCli(['prune', '--completed=0', '--failed=0'], { env });
    expect(keepCompleted.code, keepCompleted.stderr).toBe(0);
    expect(keepCompleted.stdout).toContain(
      'Deleted no completed job records (--completed=0 keeps them forever) and no failed ones (--failed=0 keeps them forever).',
    );
    expect(await jobIdsOf(queue)).toEqual(everything);

    const keepFailed = await runCli(['prune', '--completed=1', '--failed=0'], { env });
    expect(keepFailed.code, keepFailed.stderr).toBe(0);
    expect(keepFailed.stdout).toContain(
      'Deleted 1 completed job record(s) older than 1 day(s) and no failed ones',
    );
    expect(await jobIdsOf(queue)).toEqual(['done-recent', 'failed-old', 'failed-recent']);

    const wipe = await runCli(['prune', '--all', '--force'], { env });
    expect(wipe.code, wipe.stderr).toBe(0);
    expect(await jobIdsOf(queue)).toEqual([]);
  });
});
