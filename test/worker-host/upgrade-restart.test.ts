import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { rowsOf } from '../../core/db/database';
import { migrateDatabase } from '../../drizzle/migrate';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { type PrivatePostgres, startPrivatePostgres } from './fixtures/recorder-harness';
import {
  cliEnv,
  hostRow,
  killAllHosts,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/**
 * The upgrade path, step two: hosts are restarted last (docs/deploy.md), onto the state their
 * previous run left. A host whose Postgres went away kept its records in the spool of its state
 * directory and stopped; a command was sent for it meanwhile. Started again on the same state
 * directory (the new code), it replays the spool into Postgres and carries the command out.
 *
 * Postgres here is a private server, stopped and started by the test: stopping the shared one
 * would fail every other test running at the same time.
 */
describe('a host restarted onto its state directory', () => {
  const scratch = scratchDir();
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await killAllHosts();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    scratch.cleanup();
  });

  it('lands the records its last run spooled and carries out the command left for it', async () => {
    let server: PrivatePostgres;
    try {
      server = await startPrivatePostgres();
    } catch (error) {
      throw new Error(
        `cannot start a private Postgres (initdb/pg_ctl as the postgres user): ${error instanceof Error ? error.message : error}`,
      );
    }
    cleanups.push(() => server.destroy());
    await migrateDatabase(server.url);
    const database = createNodeDatabase(server.url, { max: 2 });
    cleanups.push(() => database.close());
    const { db } = database;

    const supervisor = uniqueName('upg-supervisor');
    const queueName = uniqueName('upg-queue');
    const queue = testQueue(queueName);
    cleanups.push(async () => {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    });
    const stateDir = join(scratch.dir, 'state');
    const spoolDir = join(stateDir, 'spool');
    const env = cliEnv({ DATABASE_URL: server.url, WATCHTOWER_STATE_DIR: stateDir });
    delete env.WATCHTOWER_SPOOL_DIR;
    const config = writeConfig(scratch.dir, [
      { name: supervisor, queues: [queueName], minProcesses: 1, maxProcesses: 1 },
    ]);

    // The first run: Postgres goes away, jobs go on completing, and the host is stopped before
    // Postgres comes back, so its records can only be in the spool.
    const first = await startHost(config, db, { env });
    await server.stop();
    const total = 50;
    await queue.addBulk(
      Array.from({ length: total }, (_, i) => ({ name: 'upgrade', data: { label: `j${i}` } })),
    );
    await waitFor(async () => (await queue.getCompletedCount()) === total, 30_000, 'the jobs to complete');
    expect(await first.stop(60_000)).toBe(0);
    const spooled = readdirSync(spoolDir)
      .filter((file) => file.endsWith('.ndjson'))
      .reduce(
        (lines, file) =>
          lines + readFileSync(join(spoolDir, file), 'utf8').split('\n').filter(Boolean).length,
        0,
      );
    expect(spooled, `nothing spooled:\n${first.output}`).toBeGreaterThan(0);

    // Postgres is back (as after an upgrade's migration); a command waits for the supervisor.
    await server.start();
    const bus = new DatabaseCommandBus(db);
    const sent = await bus.send({
      target: { kind: 'supervisor', id: supervisor },
      type: 'worker.start',
      args: { queue: queueName },
      ttl: 120,
    });
    expect((await bus.find(sent.id))?.status).toBe('pending');

    // The second run, same state directory: the spool lands, the command is carried out.
    const second = await startHost(config, db, { env, workers: 1 });
    const answered = await waitFor(
      async () => {
        const command = await bus.find(sent.id);
        return command && command.status !== 'pending' && command.status !== 'claimed' ? command : undefined;
      },
      20_000,
      'the pending command to be answered',
    );
    expect(answered.status, answered.error ?? '').toBe('done');
    expect(answered.claimedBy).toBe(second.hostId);
    await waitFor(
      async () => (await workersOf(db, second.hostId)).filter((w) => w.status === 'running').length === 2,
      20_000,
      'the worker process the command started',
    );
    const counts = await waitFor(
      async () => {
        const rows = rowsOf<{ completed: number }>(
          await db.execute(
            sql`select count(*)::int as completed from watchtower_jobs where queue = ${queueName} and status = 'completed'`,
          ),
        );
        return rows[0]?.completed === total ? rows[0] : undefined;
      },
      30_000,
      `all ${total} jobs recorded completed`,
    );
    expect(counts.completed).toBe(total);
    // The spool, not only the queue watcher's sweep of Redis, brought them: the new run replayed
    // its files and left none behind.
    const replayed = await waitFor(
      async () => {
        const recorder = (await hostRow(db, second.hostId))?.stats.recorder as
          | { replayed?: number }
          | undefined;
        return recorder?.replayed ? recorder.replayed : undefined;
      },
      20_000,
      'the host to report the replayed rows',
    );
    expect(replayed).toBeGreaterThan(0);
    await waitFor(
      () => readdirSync(spoolDir).filter((file) => file.includes('.ndjson')).length === 0,
      20_000,
      'the spool to be emptied',
    );
    expect(await second.stop()).toBe(0);
    await bus.close();
  }, 180_000);
});
