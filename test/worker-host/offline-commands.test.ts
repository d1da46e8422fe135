import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { createIoredisClient } from '../../worker-host/bus/ioredis-client';
import { testEnv } from '../setup/test-env';
import {
  cliEnv,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  startHost,
  testQueue,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/**
 * Commands wait on the bus while no host can take them, and are carried out exactly once when a
 * host comes back; on both bus drivers, with the host choosing its driver from the environment.
 */
describe.each(['database', 'redis'] as const)('commands sent while the host was down (%s bus)', (driver) => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const openBus = (): CommandBus =>
    driver === 'database' ? openTestBus(db) : new RedisCommandBus(createIoredisClient(testEnv.redisUrl));
  const env = cliEnv({ WATCHTOWER_COMMAND_BUS: driver, WATCHTOWER_BUS_REDIS_URL: testEnv.redisUrl });

  afterAll(async () => {
    await killAllHosts();
    await database.close();
    scratch.cleanup();
  });

  it('are carried out once when it comes back', async () => {
    const bus = openBus();
    const supervisor = uniqueName('off-supervisor');
    const connection = uniqueName('off-connection');
    const queueName = uniqueName('off-queue');
    const queue = testQueue(queueName);
    try {
      const config = writeConfig(
        scratch.dir,
        [{ name: supervisor, queues: [queueName], minProcesses: 1, maxProcesses: 1 }],
        {},
        { connection },
      );
      // A first run leaves a failed job behind, then the host goes away.
      const first = await startHost(config, db, { env });
      const flag = join(scratch.dir, uniqueName('fixed'));
      const job = await queue.add('flaky', { failUnlessFile: flag });
      await waitFor(async () => (await job.getState()) === 'failed', 10_000, 'the job to fail');
      expect(await first.stop()).toBe(0);

      // While no host runs: one more worker for the supervisor, and a retry of the job.
      writeFileSync(flag, 'fixed');
      const start = await bus.send({
        target: { kind: 'supervisor', id: supervisor },
        type: 'worker.start',
        args: { queue: queueName },
        ttl: 120,
      });
      const retry = await bus.send({
        target: { kind: 'connection', id: connection },
        type: 'job.retry',
        args: { queue: queueName, jobId: job.id },
        ttl: 120,
      });
      await new Promise((r) => setTimeout(r, 500));
      expect((await bus.find(start.id))?.status).toBe('pending');
      expect((await bus.find(retry.id))?.status).toBe('pending');

      const second = await startHost(config, db, { env, workers: 2 });
      for (const sent of [start, retry]) {
        const answered = await waitFor(
          async () => {
            const command = await bus.find(sent.id);
            return command && command.status !== 'pending' && command.status !== 'claimed'
              ? command
              : undefined;
          },
          15_000,
          `${sent.type} to be answered`,
        );
        expect(answered.status, answered.error ?? '').toBe('done');
        expect(answered.deliveries).toBe(1);
        expect(answered.claimedBy).toBe(second.hostId);
      }
      await waitFor(
        async () => (await job.getState()) === 'completed',
        10_000,
        'the retried job to complete',
      );
      // Once: one worker from the configuration plus the one the command started, and it stays so.
      await new Promise((r) => setTimeout(r, 1000));
      const running = (await workersOf(db, second.hostId)).filter((w) => w.status === 'running');
      expect(running).toHaveLength(2);
      expect(await second.stop()).toBe(0);
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await bus.close();
    }
  });
});
