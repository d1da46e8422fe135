import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import {
  hostRow,
  isAlive,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  sendAndWait,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/** Terminate is graceful: no new jobs, current ones finish within the grace period, then force. */
describe('terminating a host', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  let bus: CommandBus;
  const queues: ReturnType<typeof testQueue>[] = [];

  beforeAll(() => {
    bus = openTestBus(db);
  });

  afterAll(async () => {
    await killAllHosts();
    await Promise.all(queues.map((q) => q.obliterate({ force: true }).finally(() => q.close())));
    await bus.close();
    await database.close();
    scratch.cleanup();
  });

  it('lets a running job finish, then stops, with every row saying stopped', async () => {
    const queueName = uniqueName('term-queue');
    const queue = testQueue(queueName);
    queues.push(queue);
    const config = writeConfig(scratch.dir, [
      { name: uniqueName('term-supervisor'), queues: [queueName], minProcesses: 1, maxProcesses: 1 },
    ]);
    const host = await startHost(config, db);
    const [worker] = await workersOf(db, host.hostId);
    const job = await queue.add('slow', { ms: 2500, label: 'finishes during terminate' });
    await waitFor(async () => (await job.getState()) === 'active', 10_000, 'the job to start');
    // Queued behind it: must not be started once the terminate is under way.
    const waiting = await queue.add('late', { ms: 10 });

    const startedAt = Date.now();
    const command = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'host.terminate',
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ hostId: host.hostId, status: 'terminating' });
    expect(await host.exited).toBe(0);
    console.log(`host stopped ${Date.now() - startedAt} ms after host.terminate, its job having finished`);

    const finished = (await queue.getJob(job.id!)) as Job;
    expect(await finished.getState()).toBe('completed');
    expect(finished.returnvalue).toMatchObject({ ok: true, pid: worker!.pid });
    expect(await (await queue.getJob(waiting.id!))?.getState()).toBe('waiting');
    expect((await hostRow(db, host.hostId))?.status).toBe('stopped');
    const rows = await workersOf(db, host.hostId);
    expect(rows.map((w) => w.status)).toEqual(['stopped']);
    expect(isAlive(worker!.pid!)).toBe(false);
  });

  it('kills a job that outlasts the grace period, and still exits', async () => {
    const queueName = uniqueName('term-queue');
    const queue = testQueue(queueName);
    queues.push(queue);
    const config = writeConfig(
      scratch.dir,
      [
        {
          name: uniqueName('term-supervisor'),
          queues: [queueName],
          minProcesses: 1,
          maxProcesses: 1,
          timeout: 0,
        },
      ],
      { gracePeriod: 1 },
    );
    const host = await startHost(config, db);
    const [worker] = await workersOf(db, host.hostId);
    const job = await queue.add('endless', { ms: 120_000 });
    await waitFor(async () => (await job.getState()) === 'active', 10_000, 'the job to start');
    const startedAt = Date.now();
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
    const took = Date.now() - startedAt;
    console.log(`host with a 1 s grace period stopped ${took} ms after SIGTERM`);
    expect(took).toBeLessThan(10_000);
    expect(isAlive(worker!.pid!)).toBe(false);
    // The job was cut off: BullMQ finds it as stalled later and runs it again.
    expect(await job.getState()).toBe('active');
  });
});
