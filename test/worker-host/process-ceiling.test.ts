import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { defaultCeiling } from '../../worker-host/supervisor/process-ceiling';
import {
  cliEnv,
  type HostProcess,
  hostRow,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  runCli,
  scratchDir,
  sendAndWait,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  writeConfig,
} from './harness';

const CEILING = 3;

interface Snapshot {
  name: string;
  processes: Record<string, number>;
}

/**
 * A host keeps at most `host.maxWorkerProcesses` worker processes over all its supervisors:
 * commands that would pass it fail saying so, and auto balancing stops at it.
 */
describe('the ceiling of worker processes on a host', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const fixed = uniqueName('ceiling-fixed');
  const auto = uniqueName('ceiling-auto');
  const fixedQueue = testQueue(uniqueName('ceiling-fixed-queue'));
  const autoQueue = testQueue(uniqueName('ceiling-auto-queue'));
  let bus: CommandBus;
  let host: HostProcess;
  let configPath: string;

  const sizes = async () => {
    const supervisors = ((await hostRow(db, host.hostId))?.supervisors ?? []) as Snapshot[];
    const of = (name: string) => Object.values(supervisors.find((s) => s.name === name)?.processes ?? {});
    const fixedSize = of(fixed).reduce((n, count) => n + count, 0);
    const autoSize = of(auto).reduce((n, count) => n + count, 0);
    return { fixed: fixedSize, auto: autoSize, total: fixedSize + autoSize };
  };
  const refused = async () =>
    Number(((await hostRow(db, host.hostId))?.stats.workerProcesses as { refused?: number })?.refused ?? 0);

  beforeAll(async () => {
    bus = openTestBus(db);
    configPath = writeConfig(
      scratch.dir,
      [
        { name: fixed, queues: [fixedQueue.name], minProcesses: 1, maxProcesses: 1 },
        {
          name: auto,
          queues: [autoQueue.name],
          balance: 'auto',
          minProcesses: 1,
          maxProcesses: 4,
          balanceCooldown: 0.2,
        },
      ],
      { maxWorkerProcesses: CEILING },
    );
    host = await startHost(configPath, db, { workers: 2 });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllHosts();
    await Promise.all(
      [fixedQueue, autoQueue].map((q) => q.obliterate({ force: true }).finally(() => q.close())),
    );
    await bus?.close();
    await database.close();
    scratch.cleanup();
  });

  it('refuses supervisor.scale past it, saying the ceiling and the current count', async () => {
    const scaled = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: fixed },
      type: 'supervisor.scale',
      args: { processes: 5, queue: fixedQueue.name },
    });
    expect(scaled.status).toBe('failed');
    expect(scaled.error).toContain(
      `would add 4 worker process(es), but this host keeps at most ${CEILING} (host.maxWorkerProcesses) and has 2`,
    );
    // Spread over the supervisor's queues, the same.
    const spread = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: fixed },
      type: 'supervisor.scale',
      args: { processes: 10 },
    });
    expect(spread.status).toBe('failed');
    expect(spread.error).toContain(`at most ${CEILING} (host.maxWorkerProcesses) and has 2`);
    expect((await sizes()).fixed).toBe(1);
  });

  it('starts workers up to it, then refuses worker.start; scaling down is always allowed', async () => {
    const first = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: fixed },
      type: 'worker.start',
      args: { queue: fixedQueue.name },
    });
    expect(first.status, first.error ?? '').toBe('done');
    const second = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: fixed },
      type: 'worker.start',
      args: { queue: fixedQueue.name },
    });
    expect(second.status).toBe('failed');
    expect(second.error).toContain(
      `but this host keeps at most ${CEILING} (host.maxWorkerProcesses) and has 3`,
    );
    await waitFor(async () => (await sizes()).total === CEILING, 10_000, 'the heartbeat to show 3 processes');

    const down = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: fixed },
      type: 'supervisor.scale',
      args: { processes: 1, queue: fixedQueue.name },
    });
    expect(down.status, down.error ?? '').toBe('done');
    await waitFor(async () => (await sizes()).fixed === 1, 10_000, 'the pool to be back at 1');
  });

  it('stops auto balancing at it', async () => {
    const before = await refused();
    await autoQueue.addBulk(
      Array.from({ length: 20 }, (_, i) => ({ name: 'slow', data: { ms: 1500, label: `${i}` } })),
    );
    // The balancer grows the busy queue into the one free slot, then asks for more and is refused
    // (without a ceiling it would have grown to its maxProcesses, 4, and the host to 5).
    await waitFor(
      async () => (await refused()) > before || (await sizes()).total > CEILING,
      30_000,
      'auto balancing to reach the ceiling',
    );
    const now = await sizes();
    expect(now.total).toBeLessThanOrEqual(CEILING);
    expect(now.auto).toBe(2);
  });

  it('refuses a host.reload whose configuration needs more than fit, and changes nothing', async () => {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as {
      supervisors: Array<Record<string, unknown>>;
    };
    config.supervisors[0] = { ...config.supervisors[0], minProcesses: 3, maxProcesses: 3 };
    writeFileSync(configPath, JSON.stringify(config));
    const reloaded = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'host.reload',
    });
    expect(reloaded.status).toBe('failed');
    expect(reloaded.error).toContain(
      `more than this host keeps: at most ${CEILING} (host.maxWorkerProcesses)`,
    );
    expect((await sizes()).fixed).toBe(1);
  });

  it('refuses to start a configuration that does not fit, from the field or the variable', async () => {
    const queues = [uniqueName('ceiling-q'), uniqueName('ceiling-q'), uniqueName('ceiling-q')];
    const tooMany = writeConfig(scratch.dir, [{ name: uniqueName('ceiling-start'), queues }], {
      maxWorkerProcesses: 2,
    });
    const byField = await runCli(['supervisor', `--config=${tooMany}`]);
    expect(byField.code).toBe(2);
    expect(byField.stderr).toContain(
      'The configuration starts 3 worker processes, more than this host keeps: at most 2 (host.maxWorkerProcesses)',
    );

    const unset = writeConfig(scratch.dir, [{ name: uniqueName('ceiling-start'), queues }]);
    const byVariable = await runCli(['supervisor', `--config=${unset}`], {
      env: cliEnv({ WATCHTOWER_MAX_WORKER_PROCESSES: '2' }),
    });
    expect(byVariable.code).toBe(2);
    expect(byVariable.stderr).toContain('at most 2 (WATCHTOWER_MAX_WORKER_PROCESSES)');

    const wrong = await runCli(['supervisor', `--config=${unset}`], {
      env: cliEnv({ WATCHTOWER_MAX_WORKER_PROCESSES: 'lots' }),
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('WATCHTOWER_MAX_WORKER_PROCESSES must be a whole number from 1 to 10000');
  });
});

describe('the default ceiling', () => {
  it('is one worker process per 256 MB of memory, at least 1 and at most 100', () => {
    const mb = 1024 * 1024;
    expect(defaultCeiling(2048 * mb)).toBe(8);
    expect(defaultCeiling(100 * mb)).toBe(1);
    expect(defaultCeiling(1024 * 1024 * mb)).toBe(100);
  });
});
