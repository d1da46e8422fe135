import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import {
  hostRow,
  isAlive,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

const GRACE_SECONDS = 10;

/**
 * A host whose stdout and stderr are pipes that nobody reads any more (a closed terminal, a log
 * collector that died): every write fails with EPIPE. It must keep working, and exit on SIGTERM.
 */
describe('a host that loses its log reader', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const queues: ReturnType<typeof testQueue>[] = [];

  afterAll(async () => {
    await killAllHosts();
    await Promise.all(queues.map((q) => q.obliterate({ force: true }).finally(() => q.close())));
    await database.close();
    scratch.cleanup();
  });

  const completed = async (queue: string) =>
    rowsOf<{ n: number }>(
      await db.execute(
        sql`select count(*)::int as n from watchtower_jobs where queue = ${queue} and status = 'completed'`,
      ),
    )[0]?.n ?? 0;

  it('keeps processing and recording jobs, and exits on SIGTERM within its grace period', async () => {
    const queueName = uniqueName('closed-output');
    const queue = testQueue(queueName);
    queues.push(queue);
    const config = writeConfig(
      scratch.dir,
      [{ name: uniqueName('closed-output'), queues: [queueName], minProcesses: 1, maxProcesses: 1 }],
      { gracePeriod: GRACE_SECONDS },
    );
    const host = await startHost(config, db);
    const [worker] = await workersOf(db, host.hostId);

    // The processor writes to stdout and stderr on every job: its output shares the host's pipes.
    await queue.addBulk(
      Array.from({ length: 5 }, (_, i) => ({ name: 'before', data: { log: `before ${i}` } })),
    );
    await waitFor(async () => (await completed(queueName)) === 5, 20_000, 'the first jobs to be recorded');
    expect(host.output).toContain('before 4');

    // The reader goes away: the read ends of both pipes are closed.
    host.child.stdout?.destroy();
    host.child.stderr?.destroy();

    await queue.addBulk(
      Array.from({ length: 5 }, (_, i) => ({ name: 'after', data: { log: `after ${i}` } })),
    );
    await waitFor(async () => (await completed(queueName)) === 10, 20_000, 'the later jobs to be recorded');
    // The worker process writing to the dead pipes was not killed by it.
    const [still] = await workersOf(db, host.hostId);
    expect(still).toMatchObject({ worker_id: worker!.worker_id, pid: worker!.pid, restarts: 0 });

    host.child.kill('SIGTERM');
    // Its grace period, and as long again for a loaded machine: one that spins never gets there.
    const exit = await Promise.race([
      host.exited,
      new Promise<'still running'>((resolve) =>
        setTimeout(() => resolve('still running'), 2 * GRACE_SECONDS * 1000).unref(),
      ),
    ]);
    expect(exit).toBe(0);
    expect(isAlive(worker!.pid!)).toBe(false);

    const row = await hostRow(db, host.hostId);
    expect(row?.status).toBe('stopped');
    // What could not be written is counted: at least "Terminating" and "stopped" were lost.
    expect(Number(row?.stats.logWriteErrors)).toBeGreaterThanOrEqual(1);
    expect(await completed(queueName)).toBe(10);
  });
});
