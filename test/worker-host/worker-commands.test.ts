import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import {
  type HostProcess,
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

/**
 * Worker commands through the bus, against a real host started by the CLI: each one is answered
 * with a result, and the state the worker process confirmed is what watchtower_workers shows.
 */
describe('worker commands through the bus', () => {
  const database = openTestDatabase();
  const { db } = database;
  let bus: CommandBus;
  const scratch = scratchDir();
  const supervisor = uniqueName('wc-supervisor');
  const queue = uniqueName('wc-queue');
  let host: HostProcess;
  let workerId: string;
  let pausedJobId = '';
  let queueObject: Queue | undefined;
  const queueHandle = (): Queue => {
    queueObject ??= testQueue(queue);
    return queueObject;
  };

  const statusOf = async (id: string) => (await workersOf(db, host.hostId)).find((w) => w.worker_id === id);

  beforeAll(async () => {
    bus = openTestBus(db);
    const config = writeConfig(scratch.dir, [
      { name: supervisor, queues: [queue], minProcesses: 1, maxProcesses: 1, sleep: 3 },
    ]);
    host = await startHost(config, db);
    const rows = await workersOf(db, host.hostId);
    expect(rows).toHaveLength(1);
    workerId = rows[0]!.worker_id;
  });

  afterAll(async () => {
    await queueObject?.close();
    await host?.stop();
    await killAllHosts();
    await bus?.close();
    await database.close();
    scratch.cleanup();
  });

  it('pauses a worker and watchtower_workers shows it paused', async () => {
    const command = await sendAndWait(bus, {
      target: { kind: 'worker', id: workerId },
      type: 'worker.pause',
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ workerId, status: 'paused', confirmed: true });
    expect(command.deliveries).toBe(1);
    // The host writes its heartbeat before it acknowledges: no read after the answer sees the old state.
    expect((await statusOf(workerId))?.status).toBe('paused');
  });

  it('takes no job while paused, not even one arriving just after the pause', async () => {
    // BullMQ's pause(true) left the blocking fetch open: a job arriving within `sleep` was still
    // taken after the worker had said paused. Added right after the answer, it must stay waiting.
    const job = await queueHandle().add('while-paused', { label: 'while-paused' });
    pausedJobId = job.id!;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await queueHandle().getJobState(pausedJobId)).toBe('waiting');
  });

  it('resumes it, and the job that waited then runs', async () => {
    const command = await sendAndWait(bus, {
      target: { kind: 'worker', id: workerId },
      type: 'worker.resume',
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ workerId, status: 'running', confirmed: true });
    expect((await statusOf(workerId))?.status).toBe('running');
    await waitFor(
      async () => (await queueHandle().getJobState(pausedJobId)) === 'completed',
      15_000,
      'the job added while paused to complete after resume',
    );
  });

  it('stops it: the process exits, the row says stopped, and the pool does not replace it', async () => {
    const before = await statusOf(workerId);
    const command = await sendAndWait(bus, { target: { kind: 'worker', id: workerId }, type: 'worker.stop' });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ workerId, status: 'stopped', confirmed: true, pid: null });
    await waitFor(async () => (await statusOf(workerId))?.status === 'stopped', 5000, 'the stopped row');
    // A stop is the operator's: after a while the slot is still stopped, with no new process.
    await new Promise((r) => setTimeout(r, 1000));
    const rows = await workersOf(db, host.hostId);
    expect(rows.filter((w) => w.status === 'running')).toHaveLength(0);
    expect(rows.find((w) => w.worker_id === workerId)).toMatchObject({ status: 'stopped', pid: null });
    expect(before?.pid).toBeGreaterThan(0);
  });

  it('starts the stopped worker again with restart: same worker id, new pid', async () => {
    const command = await sendAndWait(bus, {
      target: { kind: 'worker', id: workerId },
      type: 'worker.restart',
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ workerId, status: 'running', confirmed: true });
    const row = await waitFor(
      async () => {
        const current = await statusOf(workerId);
        return current?.status === 'running' && current.pid ? current : undefined;
      },
      5000,
      'the restarted row',
    );
    expect(row.pid).toBe((command.result as { pid: number }).pid);
  });

  it('starts one more worker on the queue through the supervisor', async () => {
    const command = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: supervisor },
      type: 'worker.start',
      args: { queue },
    });
    expect(command.status, command.error ?? '').toBe('done');
    const started = command.result as { workerId: string; queue: string; status: string };
    expect(started).toMatchObject({ queue, supervisor, status: 'running', confirmed: true });
    expect(started.workerId).not.toBe(workerId);
    await waitFor(
      async () => (await workersOf(db, host.hostId)).filter((w) => w.status === 'running').length === 2,
      5000,
      'two running rows',
    );
  });

  it('fails a command for a worker that does not exist, saying so', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const command = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'worker.pause',
      args: { workerId: missing },
    });
    expect(command.status).toBe('failed');
    expect(command.error).toBe(`worker ${missing} does not exist on host ${host.hostId}`);
  });

  it('fails a command with bad arguments, naming the field', async () => {
    const command = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: supervisor },
      type: 'supervisor.scale',
      args: { processes: -1 },
    });
    expect(command.status).toBe('failed');
    expect(command.error).toMatch(/^supervisor\.scale: args\.processes: /);
  });

  it('scales the supervisor down, and answers later commands for a removed worker clearly', async () => {
    const command = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: supervisor },
      type: 'supervisor.scale',
      args: { processes: 1 },
    });
    expect(command.status, command.error ?? '').toBe('done');
    expect(command.result).toMatchObject({ supervisor, processes: { [queue]: 1 } });
    const removed = await waitFor(
      async () => {
        const rows = await workersOf(db, host.hostId);
        const running = rows.filter((w) => w.status === 'running');
        const stopped = rows.filter((w) => w.status === 'stopped');
        return running.length === 1 && stopped.length === 1 ? stopped[0] : undefined;
      },
      15_000,
      'one running and one stopped worker',
    );
    const late = await sendAndWait(bus, {
      target: { kind: 'worker', id: removed.worker_id },
      type: 'worker.pause',
    });
    expect(late.status).toBe('failed');
    expect(late.error).toMatch(new RegExp(`^worker ${removed.worker_id} no longer exists on host`));
  });
});
