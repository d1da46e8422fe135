import { readFileSync, writeFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { rowsOf } from '../../core/db/database';
import {
  type HostProcess,
  hostRow,
  killAllHosts,
  openTestBus,
  openTestDatabase,
  scratchDir,
  sendAndWait,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from './harness';

interface ConfigFile {
  supervisors: Array<Record<string, unknown> & { name: string; queues: string[] }>;
  [key: string]: unknown;
}

/** Supervisor and host commands: pause and continue, scale, terminate one supervisor, reload. */
describe('supervisor and host commands', () => {
  const database = openTestDatabase();
  const { db } = database;
  const scratch = scratchDir();
  const first = uniqueName('sc-first');
  const second = uniqueName('sc-second');
  const queueA = uniqueName('sc-queue');
  const queueB = uniqueName('sc-queue');
  let bus: CommandBus;
  let host: HostProcess;
  let configPath: string;

  const live = async (supervisor: string) =>
    (await workersOf(db, host.hostId)).filter((w) => w.supervisor === supervisor && w.status !== 'stopped');

  beforeAll(async () => {
    bus = openTestBus(db);
    configPath = writeConfig(scratch.dir, [
      { name: first, queues: [queueA, queueB], minProcesses: 1, maxProcesses: 2 },
      { name: second, queues: [uniqueName('sc-queue')], minProcesses: 1, maxProcesses: 1 },
    ]);
    host = await startHost(configPath, db, { workers: 3 });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllHosts();
    await bus?.close();
    await database.close();
    scratch.cleanup();
  });

  it('pauses and continues every worker process of a supervisor', async () => {
    const paused = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: first },
      type: 'supervisor.pause',
    });
    expect(paused.status, paused.error ?? '').toBe('done');
    expect(paused.result).toMatchObject({ supervisor: first, status: 'paused', workers: 2, confirmed: true });
    await waitFor(async () => (await live(first)).every((w) => w.status === 'paused'), 5000, 'paused rows');
    expect((await live(second)).map((w) => w.status)).toEqual(['running']);
    const resumed = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: first },
      type: 'supervisor.continue',
    });
    expect(resumed.result).toMatchObject({ status: 'running', confirmed: true });
    await waitFor(async () => (await live(first)).every((w) => w.status === 'running'), 5000, 'running rows');
  });

  it('scales one queue of a supervisor', async () => {
    const scaled = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: first },
      type: 'supervisor.scale',
      args: { processes: 3, queue: queueA },
    });
    expect(scaled.status, scaled.error ?? '').toBe('done');
    expect(scaled.result).toEqual({ supervisor: first, processes: { [queueA]: 3, [queueB]: 1 } });
    await waitFor(
      async () =>
        (await live(first)).filter((w) => w.queue === queueA && w.status === 'running').length === 3,
      15_000,
      'three processes on the queue',
    );
  });

  it('reloads the configuration: a changed supervisor restarts, a new one starts', async () => {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as ConfigFile;
    const third = uniqueName('sc-third');
    config.supervisors[1] = { ...config.supervisors[1]!, concurrency: 2 };
    config.supervisors.push({
      name: third,
      queues: [uniqueName('sc-queue')],
      minProcesses: 1,
      maxProcesses: 1,
    });
    writeFileSync(configPath, JSON.stringify(config));
    const before = await live(second);

    const reloaded = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'host.reload',
    });
    expect(reloaded.status, reloaded.error ?? '').toBe('done');
    expect(reloaded.result).toEqual({
      added: [third],
      removed: [],
      restarted: [second],
      resized: [],
      unchanged: [first],
      needsHostRestart: [],
    });
    await waitFor(
      async () => (await live(third)).some((w) => w.status === 'running'),
      15_000,
      'the new supervisor',
    );
    await waitFor(
      async () => {
        const rows = await live(second);
        return (
          rows.length === 1 && rows[0]?.status === 'running' && rows[0].worker_id !== before[0]?.worker_id
        );
      },
      15_000,
      'the changed supervisor with a fresh worker',
    );
  });

  it('keeps the heartbeat it started with until restarted, as the reload says', async () => {
    const good = readFileSync(configPath, 'utf8');
    const config = JSON.parse(good) as ConfigFile & { host: Record<string, number> };
    writeFileSync(
      configPath,
      JSON.stringify({ ...config, host: { ...config.host, heartbeatInterval: 30, deadAfter: 120 } }),
    );
    const reloaded = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'host.reload',
    });
    expect(reloaded.status, reloaded.error ?? '').toBe('done');
    expect(reloaded.result).toMatchObject({ needsHostRestart: ['host.heartbeatInterval', 'host.deadAfter'] });
    // Still every 0.25 s: the heartbeat's age stays well under 1.5 s (at 30 s it would pass 2.5 s).
    const ageMs = async () =>
      Number(
        rowsOf<{ age: string }>(
          await db.execute(
            sql`select extract(epoch from now() - last_heartbeat) * 1000 as age from watchtower_hosts where host_id = ${host.hostId}`,
          ),
        )[0]?.age,
      );
    const ages: number[] = [];
    for (let i = 0; i < 12; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ages.push(await ageMs());
    }
    expect(Math.max(...ages), `heartbeat ages ${ages.join(', ')} ms`).toBeLessThan(1500);
    // Back as it started: nothing is left waiting for a restart.
    writeFileSync(configPath, good);
    const restored = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'host.reload',
    });
    expect(restored.result).toMatchObject({ needsHostRestart: [] });
  });

  it('refuses a broken configuration on reload and keeps running', async () => {
    const good = readFileSync(configPath, 'utf8');
    writeFileSync(
      configPath,
      JSON.stringify({ ...JSON.parse(good), supervisors: [{ name: first, queues: [] }] }),
    );
    const reloaded = await sendAndWait(bus, {
      target: { kind: 'host', id: host.hostId },
      type: 'host.reload',
    });
    expect(reloaded.status).toBe('failed');
    expect(reloaded.error).toContain('supervisors.0.queues: must name at least one queue');
    writeFileSync(configPath, good);
    expect((await live(first)).length).toBeGreaterThan(0);
  });

  it('terminates one supervisor while the host runs on', async () => {
    const terminated = await sendAndWait(bus, {
      target: { kind: 'supervisor', id: first },
      type: 'supervisor.terminate',
    });
    expect(terminated.status, terminated.error ?? '').toBe('done');
    expect(terminated.result).toEqual({ supervisor: first, status: 'terminating' });
    await waitFor(async () => (await live(first)).length === 0, 15_000, 'its workers to stop');
    await waitFor(
      async () => {
        const row = await hostRow(db, host.hostId);
        const names = ((row?.supervisors ?? []) as Array<{ name: string }>).map((s) => s.name);
        return row?.status === 'running' && !names.includes(first) && names.includes(second);
      },
      5000,
      'the host row without the supervisor',
    );
    // Its name is no longer this host's target: a command to it waits for another host.
    const sent = await bus.send({
      target: { kind: 'supervisor', id: first },
      type: 'supervisor.pause',
      ttl: 2,
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await bus.find(sent.id))?.status).toBe('pending');
  });
});
