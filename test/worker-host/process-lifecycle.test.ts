import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HostProcess,
  hostRow,
  isAlive,
  killAllHosts,
  openTestDatabase,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

/**
 * Worker processes die and come back, and never outlive their supervisor. Timings are measured
 * and printed; the assertions leave slack for a shared, noisy machine.
 */
describe('worker process lifecycle', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();

  afterAll(async () => {
    await killAllHosts();
    await database.close();
    scratch.cleanup();
  });

  describe('a killed worker process', () => {
    let host: HostProcess;
    beforeAll(async () => {
      const config = writeConfig(scratch.dir, [
        {
          name: uniqueName('lc-supervisor'),
          queues: [uniqueName('lc-queue')],
          minProcesses: 2,
          maxProcesses: 2,
        },
      ]);
      host = await startHost(config, db, { workers: 2 });
    });
    afterAll(async () => {
      await host?.stop();
    });

    it('is replaced within 2 s, in the same slot', async () => {
      const [victim] = await workersOf(db, host.hostId);
      expect(victim?.pid).toBeGreaterThan(0);
      const killedAt = Date.now();
      process.kill(victim!.pid!, 'SIGKILL');

      // The replacement shows as a new pid in the same worker id; heartbeats run every 250 ms here.
      const replaced = await waitFor(
        async () => {
          const row = (await workersOf(db, host.hostId)).find((w) => w.worker_id === victim!.worker_id);
          return row?.pid && row.pid !== victim!.pid && isAlive(row.pid)
            ? { row, at: Date.now() }
            : undefined;
        },
        10_000,
        'a replacement process',
      );
      const running = await waitFor(
        async () => {
          const row = (await workersOf(db, host.hostId)).find((w) => w.worker_id === victim!.worker_id);
          return row?.status === 'running' && row.pid === replaced.row.pid ? Date.now() : undefined;
        },
        10_000,
        'the replacement to take jobs',
      );
      const spawnedMs = replaced.at - killedAt;
      const runningMs = running - killedAt;
      console.log(`worker replaced: new pid seen after ${spawnedMs} ms, running after ${runningMs} ms`);
      // Seen through a heartbeat row: 2 s plus a heartbeat and a poll of slack.
      expect(spawnedMs).toBeLessThan(2000 + 1500);
      expect(replaced.row.restarts).toBe(1);
      expect(replaced.row.last_error).toMatch(/killed by SIGKILL/);
      expect(isAlive(victim!.pid!)).toBe(false);
    });
  });

  describe('a supervisor that dies', () => {
    it('takes its worker processes with it (no orphans)', async () => {
      const config = writeConfig(scratch.dir, [
        {
          name: uniqueName('lc-orphans'),
          queues: [uniqueName('lc-queue')],
          minProcesses: 2,
          maxProcesses: 2,
        },
      ]);
      const host = await startHost(config, db, { workers: 2 });
      const pids = (await workersOf(db, host.hostId)).map((w) => w.pid!);
      expect(pids).toHaveLength(2);
      const killedAt = Date.now();
      host.kill();
      await host.exited;
      await waitFor(
        () => pids.every((pid) => !isAlive(pid)),
        15_000,
        'the orphaned worker processes to exit',
      );
      console.log(`worker processes exited ${Date.now() - killedAt} ms after their supervisor was killed`);
      // Nobody wrote "stopped": the row is still "running" until a sweep by another host.
      expect((await hostRow(db, host.hostId))?.status).toBe('running');
    });
  });

  describe('a processor that cannot be loaded', () => {
    it('crash-loops with a growing backoff, and the row says why', async () => {
      const config = writeConfig(scratch.dir, [
        { name: uniqueName('lc-broken'), queues: [uniqueName('lc-queue')], minProcesses: 1, maxProcesses: 1 },
      ]);
      // Point the wildcard processor at a module that does not exist.
      const { readFileSync, writeFileSync } = await import('node:fs');
      const parsed = JSON.parse(readFileSync(config, 'utf8')) as { processors: Record<string, string> };
      parsed.processors = { '*': `${scratch.dir}/no-such-processor.ts` };
      writeFileSync(config, JSON.stringify(parsed));
      const host = await startHost(config, db, { workers: 0 });
      const row = await waitFor(
        async () => {
          const [worker] = await workersOf(db, host.hostId);
          return worker && worker.restarts >= 2 ? worker : undefined;
        },
        15_000,
        'two failed starts',
      );
      expect(row.last_error).toMatch(/Cannot load processor .*no-such-processor\.ts/);
      expect(['restarting', 'starting']).toContain(row.status);
      // With backoff (0, 0.5, 1, 2 s ...) a few seconds see a handful of starts, not dozens.
      await new Promise((r) => setTimeout(r, 3000));
      const [later] = await workersOf(db, host.hostId);
      expect(later!.restarts).toBeLessThan(8);
      expect(await host.stop()).toBe(0);
    });
  });
});
