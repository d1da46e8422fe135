import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { type Database, rowsOf } from '../../core/db/database';
import type { ConnectionHealthRow } from '../../worker-host/health/health-rollup';
import {
  type HostBeat,
  nextBeatDue,
  type WorkerBeat,
  writeHeartbeat,
} from '../../worker-host/heartbeat/heartbeat';
import { hostRow, openTestDatabase, uniqueName, workersOf } from './harness';

describe('heartbeat schedule', () => {
  it('keeps the rate although each beat runs on a later loop tick', () => {
    // A loop of 300 ms ticks (out of step with 5 s) runs each beat on the first tick after it is due.
    let due = nextBeatDue(0, 0, 5_000);
    const ran: number[] = [];
    for (let tick = 0; ran.length < 720; tick += 300) {
      if (tick >= due) {
        ran.push(tick);
        due = nextBeatDue(due, tick, 5_000);
      }
    }
    // 720 beats an hour, as the interval says; counted from the tick, each would lag 100 ms more.
    expect(ran.at(-1)).toBeGreaterThanOrEqual(720 * 5_000);
    expect(ran.at(-1)).toBeLessThan(720 * 5_000 + 300);
  });

  it('starts again from now after a beat far behind, instead of catching up in a rush', () => {
    expect(nextBeatDue(5_000, 20_000, 5_000)).toBe(25_000);
    expect(nextBeatDue(0, 1_234, 5_000)).toBe(6_234);
  });
});

describe('heartbeats', () => {
  const database = openTestDatabase();
  afterAll(() => database.close());

  const host = (hostId: string, status: HostBeat['status'] = 'running'): HostBeat => ({
    hostId,
    hostname: 'test-machine',
    pid: 4242,
    version: 'test',
    status,
    connections: ['default'],
    supervisors: [{ name: 'emails' }],
    memoryBytes: 1_000_000,
    stats: { polls: 3 },
    startedAt: new Date(),
  });
  const worker = (n: number, status = 'running'): WorkerBeat => ({
    workerId: uniqueName(`hb-worker-${n}`),
    supervisor: 'emails',
    connection: 'default',
    queue: 'emails',
    pid: 1000 + n,
    status,
    currentJob: n % 2 ? String(n) : null,
    jobsProcessed: n * 10,
    jobsFailed: n,
    memoryBytes: 50_000_000,
    restarts: 0,
    lastError: null,
    startedAt: new Date(),
  });

  it('writes the host and all its workers in one statement', async () => {
    let statements = 0;
    const counting = new Proxy(database.db, {
      get(target, property, receiver) {
        if (property === 'execute') {
          return (query: Parameters<Database['execute']>[0]) => {
            statements++;
            return target.execute(query);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const hostId = uniqueName('hb-host');
    const workers = Array.from({ length: 20 }, (_, n) => worker(n));
    const result = await writeHeartbeat(counting, host(hostId), workers, { deadAfterSeconds: 15 });
    expect(statements).toBe(1);
    expect(result.workers).toBe(20);
    const rows = await workersOf(database.db, hostId);
    expect(rows).toHaveLength(20);
    expect(rows.find((r) => r.worker_id === workers[3]!.workerId)).toMatchObject({
      status: 'running',
      pid: 1003,
      current_job: '3',
      jobs_processed: 30,
      jobs_failed: 3,
    });
    // The next beat updates in place.
    workers[3] = { ...workers[3]!, status: 'paused', jobsProcessed: 31 };
    await writeHeartbeat(counting, host(hostId), workers, { deadAfterSeconds: 15 });
    expect(statements).toBe(2);
    expect(
      (await workersOf(database.db, hostId)).find((r) => r.worker_id === workers[3]!.workerId),
    ).toMatchObject({
      status: 'paused',
      jobs_processed: 31,
    });
    expect(await hostRow(database.db, hostId)).toMatchObject({ status: 'running', stats: { polls: 3 } });
  });

  it("writes the connections' health rows in the same statement; a minute written again is replaced", async () => {
    let statements = 0;
    const counting = new Proxy(database.db, {
      get(target, property, receiver) {
        if (property === 'execute') {
          return (query: Parameters<Database['execute']>[0]) => {
            statements++;
            return target.execute(query);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const hostId = uniqueName('hb-health');
    const row = (checks: number, up: boolean): ConnectionHealthRow => ({
      minute: '2026-01-01T12:00:00.000Z',
      connection: 'main',
      kind: 'redis',
      checks,
      errors: up ? 0 : 1,
      up,
      latencyP50Ms: 1.5,
      latencyP95Ms: 2.5,
      lastError: up ? null : 'connect ECONNREFUSED \u0000',
      redisVersion: '7.0.15',
      usedMemory: 1_000_000,
      maxmemory: 0,
      maxmemoryPolicy: 'noeviction',
      connectedClients: 4,
    });
    await writeHeartbeat(counting, host(hostId), [], { deadAfterSeconds: 15, health: [row(1, true)] });
    await writeHeartbeat(counting, host(hostId), [], { deadAfterSeconds: 15, health: [row(2, false)] });
    expect(statements).toBe(2);
    const rows = rowsOf<{
      checks: number;
      errors: number;
      up: boolean;
      last_error: string;
      used_memory: string;
    }>(
      await database.db.execute(
        sql`select checks, errors, up, last_error, used_memory from watchtower_connection_health where host_id = ${hostId}`,
      ),
    );
    expect(rows).toEqual([
      { checks: 2, errors: 1, up: false, last_error: 'connect ECONNREFUSED \ufffd', used_memory: '1000000' },
    ]);
  });

  it('is not refused for what a job id or an error message holds (the host would look dead)', async () => {
    const hostId = uniqueName('hb-hostile');
    const hostile = { ...worker(1), currentJob: 'nul\u0000id', lastError: 'lone \ud800 surrogate' };
    const beat = { ...host(hostId), stats: { lastError: 'recorder: bad \u0000 row' } };
    await writeHeartbeat(database.db, beat, [hostile], { deadAfterSeconds: 15 });
    expect((await workersOf(database.db, hostId))[0]).toMatchObject({
      current_job: 'nul\ufffdid',
      last_error: 'lone \ufffd surrogate',
    });
    expect((await hostRow(database.db, hostId))?.stats).toEqual({ lastError: 'recorder: bad \ufffd row' });
  });

  it('writes the configuration the host runs, its hostile error cleaned and capped', async () => {
    const hostId = uniqueName('hb-config');
    const beat: HostBeat = {
      ...host(hostId),
      configuration: {
        labels: ['eu', 'web'],
        takesDatabase: true,
        version: 2 ** 40,
        error: `supervisor nul\u0000name not started: ${'x'.repeat(5_000)}`,
        encryptionKey: true,
      },
    };
    await writeHeartbeat(database.db, beat, [], { deadAfterSeconds: 15 });
    const [row] = rowsOf<{
      labels: string[];
      database_config: boolean;
      config_version: string;
      config_error: string;
      encryption_key: boolean;
    }>(
      await database.db.execute(
        sql`select labels, database_config, config_version, config_error, encryption_key from watchtower_hosts where host_id = ${hostId}`,
      ),
    );
    expect(row).toMatchObject({
      labels: ['eu', 'web'],
      database_config: true,
      config_version: String(2 ** 40),
      encryption_key: true,
    });
    expect(row?.config_error.startsWith('supervisor nul\ufffdname not started: xxx')).toBe(true);
    expect(row?.config_error.length).toBeLessThanOrEqual(2_000);
    // A beat that says nothing of it is a file-only host's.
    await writeHeartbeat(database.db, host(hostId), [], { deadAfterSeconds: 15 });
    const [plain] = rowsOf<Record<string, unknown>>(
      await database.db.execute(
        sql`select labels, database_config, config_version, config_error from watchtower_hosts where host_id = ${hostId}`,
      ),
    );
    expect(plain).toEqual({ labels: [], database_config: false, config_version: null, config_error: null });
  });

  it('marks a host unseen for deadAfter seconds dead, with its workers, from any other host’s beat', async () => {
    const silent = uniqueName('hb-silent');
    const alive = uniqueName('hb-alive');
    const silentWorkers = [worker(1), worker(2, 'paused'), worker(3, 'stopped')];
    await writeHeartbeat(database.db, host(silent), silentWorkers, { deadAfterSeconds: 15 });
    // Its last heartbeat was 16 s ago. Aged and swept in one transaction: the hosts other test files
    // run beat into this database too, and would otherwise sweep it first (and this count be 0).
    const result = await database.db.transaction(async (tx) => {
      await tx.execute(
        sql`update watchtower_hosts set last_heartbeat = now() - interval '16 seconds' where host_id = ${silent}`,
      );
      await tx.execute(
        sql`update watchtower_workers set last_heartbeat = now() - interval '16 seconds' where host_id = ${silent}`,
      );
      return writeHeartbeat(tx, host(alive), [worker(4)], { deadAfterSeconds: 15 });
    });
    expect(result.deadHosts).toBeGreaterThanOrEqual(1);
    expect((await hostRow(database.db, silent))?.status).toBe('dead');
    const rows = await workersOf(database.db, silent);
    expect(rows.map((r) => r.status).sort()).toEqual(['dead', 'dead', 'stopped']);
    expect(rows.every((r) => r.current_job === null || r.status === 'stopped')).toBe(true);
    expect((await hostRow(database.db, alive))?.status).toBe('running');
  });
});
