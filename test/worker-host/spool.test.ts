import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/database';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { flushStatement } from '../../worker-host/recorder/flush-statement';
import type { JobEvent } from '../../worker-host/recorder/job-event';
import type { RowBatch } from '../../worker-host/recorder/record-batch';
import { createRecorder, type Recorder } from '../../worker-host/recorder/recorder';
import { Spool } from '../../worker-host/recorder/spool';
import { nodeSpoolFs, type SpoolFs } from '../../worker-host/recorder/spool-fs';
import { testEnv } from '../setup/test-env';
import { countsFor, pollUntil } from './fixtures/recorder-harness';

/**
 * The recorder's spool as hosts use it: claims that outlive the host that made them, lines that are
 * not rows, a full disk, and several hosts on one directory. Rows go to the real test database.
 */

const run = Math.random().toString(36).slice(2, 8);
const database = createNodeDatabase(testEnv.databaseUrl);
const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  // The test database is shared and long-lived: leave it as it was found.
  for (const table of ['watchtower_job_attempts', 'watchtower_jobs', 'watchtower_metrics']) {
    await client.query(`delete from ${table} where queue like $1`, [`spool-%-${run}`]);
  }
  await database.close();
  await client.end();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wt-spool-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const at = Date.now() - 60_000;

function completed(queue: string, from: number, count: number): JobEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'completed' as const,
    connection: 'default',
    queue,
    jobId: String(from + i),
    attempt: 1,
    startedAt: at,
    finishedAt: at + 5,
  }));
}

function batchOf(queue: string, from: number, count: number): RowBatch {
  const jobs = completed(queue, from, count).map((e) => ({
    connection: e.connection,
    queue: e.queue,
    jobId: e.jobId,
    status: 'completed' as const,
    attempt: 1,
    startedAt: at,
    finishedAt: at + 5,
  }));
  return { jobs, attempts: [] };
}

/** How a replay writes: the recorder's own statement, to the real database. */
async function write(batch: RowBatch): Promise<void> {
  await database.db.execute(flushStatement(batch));
}

/** Replays what the spool may take (a file a call, at most 100 lines each); returns the rows written. */
async function replayAll(spool: Spool): Promise<number> {
  let rows = 0;
  for (let i = 0; i < 10; i++) rows += await spool.replay(write, 100);
  return rows;
}

/** The recorder's stats once `done` holds: spills run in the background of a failed flush. */
async function statsWhen(recorder: Recorder, done: (stats: ReturnType<Recorder['stats']>) => boolean) {
  const stats = await pollUntil(async () => recorder.stats(), done, 20_000, 20);
  if (!done(stats)) throw new Error(`timed out; the recorder's stats: ${JSON.stringify(stats)}`);
  return stats;
}

const dataFiles = (dir: string) => readdirSync(dir).filter((name) => name.includes('.ndjson'));

/** Waits until no spool file is left: a replayed file is removed just after its last line is written. */
async function drained(dir: string): Promise<string[]> {
  return pollUntil(
    async () => dataFiles(dir),
    (files) => files.length === 0,
    20_000,
    20,
  );
}

/** The real database, with an outage switched on and off: a fake only to make the fault happen. */
function withOutage(db: Database): { db: Database; state: { down: boolean } } {
  const state = { down: true };
  const proxy = new Proxy(db, {
    get(target, key, receiver) {
      if (key !== 'execute') return Reflect.get(target, key, receiver);
      return (query: Parameters<Database['execute']>[0]) =>
        state.down
          ? Promise.reject(
              Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
            )
          : target.execute(query);
    },
  });
  return { db: proxy, state };
}

function recorderOn(
  db: Database,
  hostId: string,
  dir: string,
  extra: Partial<Parameters<typeof createRecorder>[0]> = {},
) {
  const recorder = createRecorder({
    db,
    hostId,
    spoolDir: dir,
    // Small bounds, so that an outage overflows memory and the spool is used.
    maxBufferedRows: 100,
    chunkRows: 50,
    flushIntervalMs: 20,
    retryInitialMs: 20,
    retryMaxMs: 100,
    closeTimeoutMs: 500,
    ...extra,
  });
  cleanups.push(() => recorder.close());
  return recorder;
}

function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').includes(line)) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before "${line}": ${out}${err}`)));
  });
}

describe('spool claims', () => {
  it('takes over a claim whose host was killed in mid-replay, and leaves a live one alone', async () => {
    const dir = tempDir();
    const queue = `spool-claim-${run}`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures/spool-claimer.ts'),
        dir,
        `claimer-${run}`,
        queue,
        '40',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    await waitForLine(child, 'claimed');
    expect(dataFiles(dir)).toHaveLength(1);

    const heir = new Spool({ dir, hostId: `heir-${run}` });
    cleanups.push(() => heir.close());
    // Its host is alive (and may be waiting on Postgres): its claim is its own.
    expect(await heir.replay(write, 10)).toBe(0);

    child.kill('SIGKILL');
    await exited;
    // Gone, on this machine: taken at once, not after a stale period.
    expect(await replayAll(heir)).toBe(40);
    expect(dataFiles(dir)).toEqual([]);
    expect(await countsFor(client, queue)).toMatchObject({ jobs: 40, completed: 40, metricsCompleted: 40 });
  });

  it('takes over a host on another machine once its record is stale, and an earlier version’s claim once the file is', async () => {
    const dir = tempDir();
    const queue = `spool-stale-${run}`;
    const line = (from: number) => `${JSON.stringify(batchOf(queue, from, 10))}\n`;
    // A host on another machine sharing the directory, in mid-replay of a third host's file.
    writeFileSync(
      join(dir, `far-${run}.owner`),
      JSON.stringify({ hostId: 'far', hostname: 'elsewhere.invalid', pid: 1 }),
    );
    writeFileSync(join(dir, `third-${run}-1000-0.ndjson.claimed-far-${run}`), line(0));
    // A claim as an earlier version named it, without a record: its host id held a dot.
    writeFileSync(join(dir, `old.host-1000-0.ndjson.replaying-old.host`), line(10));

    const spool = new Spool({ dir, hostId: `now-${run}` });
    cleanups.push(() => spool.close());
    expect(await replayAll(spool)).toBe(0);
    expect(dataFiles(dir)).toHaveLength(2);

    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(join(dir, `far-${run}.owner`), old, old);
    utimesSync(join(dir, `old.host-1000-0.ndjson.replaying-old.host`), old, old);
    expect(await replayAll(spool)).toBe(20);
    expect(dataFiles(dir)).toEqual([]);
    // The record of a host that is gone and has left no file is removed.
    expect(readdirSync(dir).filter((name) => name.startsWith('far-'))).toEqual([]);
    expect(await countsFor(client, queue)).toMatchObject({ jobs: 20, completed: 20 });
  });
});

describe('spool files', () => {
  it('sets aside a line that is not a batch of rows, counts it, and replays the rest of the file', async () => {
    const dir = tempDir();
    const queue = `spool-corrupt-${run}`;
    const hostId = `corrupt-${run}`;
    const bad = [
      '{"jobs":[{"connection":"default","qu',
      'null',
      '{"jobs":5,"attempts":[]}',
      '{"jobs":[null],"attempts":[]}',
      '[1,2]',
    ];
    const name = `${hostId}-1000-0.ndjson`;
    writeFileSync(
      join(dir, name),
      [JSON.stringify(batchOf(queue, 0, 10)), ...bad, JSON.stringify(batchOf(queue, 10, 10)), ''].join('\n'),
    );
    const errors: string[] = [];
    const spool = new Spool({ dir, hostId, onError: (error) => errors.push(error.message) });
    cleanups.push(() => spool.close());
    expect(await replayAll(spool)).toBe(20);
    expect(spool.corruptLines).toBe(bad.length);
    expect(dataFiles(dir)).toEqual([]);
    expect(readFileSync(join(dir, 'corrupt', name), 'utf8')).toBe(`${bad.join('\n')}\n`);
    expect(errors[0]).toContain(join(dir, 'corrupt', name));
    expect(await countsFor(client, queue)).toMatchObject({ jobs: 20, completed: 20 });
  });

  it('writes files only their user can read', async () => {
    const dir = tempDir();
    const spool = new Spool({ dir, hostId: `mode-${run}` });
    cleanups.push(() => spool.close());
    await spool.append([batchOf(`spool-mode-${run}`, 0, 1)]);
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(statSync(join(dir, file)).mode & 0o077).toBe(0);
  });
});

describe('spool faults', () => {
  it('counts and reports a full disk, leaves no part behind, and spools again once there is room', async () => {
    const dir = tempDir();
    const queue = `spool-full-${run}`;
    const disk = { full: true };
    const noSpace = () =>
      Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        errno: -28,
        syscall: 'write',
      });
    // A disk that takes a few bytes of a write, then has no room left.
    const fs: SpoolFs = {
      ...nodeSpoolFs,
      async create(path) {
        const file = await nodeSpoolFs.create(path);
        return {
          async write(text) {
            if (!disk.full) return file.write(text);
            await file.write(text.slice(0, 7));
            throw noSpace();
          },
          datasync: () => file.datasync(),
          close: () => file.close(),
        };
      },
    };
    const { db } = withOutage(database.db);
    const errors: string[] = [];
    const recorder = recorderOn(db, `full-${run}`, dir, {
      spoolFs: fs,
      onError: (error) => errors.push((error as Error).message),
    });
    // Past the bound (100 rows in memory), rows go to the spool, which refuses them twice.
    recorder.record(completed(queue, 0, 300));
    await statsWhen(recorder, (s) => s.spoolErrors === 1);
    recorder.record(completed(queue, 300, 150));
    const stats = await statsWhen(recorder, (s) => s.spoolErrors === 2);
    expect(stats).toMatchObject({ spilled: 0, dropped: 450, spoolPending: 0 });
    expect(stats.lastSpoolError).toContain('ENOSPC');
    expect(stats.lastSpoolErrorAt).toBeGreaterThan(0);
    expect(dataFiles(dir)).toEqual([]);
    // The same words for the same fault: the host logs it once a minute, not once a spill.
    const spoolErrors = errors.filter((message) => message.startsWith('spool'));
    expect(spoolErrors).toEqual([
      `spool ${dir}: cannot write (ENOSPC); rows that neither Postgres nor the spool takes are dropped and counted`,
      `spool ${dir}: cannot write (ENOSPC); rows that neither Postgres nor the spool takes are dropped and counted`,
    ]);

    disk.full = false;
    recorder.record(completed(queue, 450, 150));
    const after = await statsWhen(recorder, (s) => s.spilled > 0);
    expect(after).toMatchObject({ spilled: 150, dropped: 450, spoolErrors: 2, spoolPending: 150 });
    expect(dataFiles(dir)).toHaveLength(1);
  });
});

describe('several hosts on one spool directory', () => {
  it('each replay their own files', async () => {
    const dir = tempDir();
    const hosts = ['a', 'b'].map((name) => {
      const { db, state } = withOutage(database.db);
      const queue = `spool-own-${name}-${run}`;
      return { queue, state, recorder: recorderOn(db, `own-${name}-${run}`, dir) };
    });
    for (const { recorder, queue } of hosts) {
      recorder.record(completed(queue, 0, 300));
      const stats = await statsWhen(recorder, (s) => s.spilled > 0);
      expect(stats).toMatchObject({ spilled: 300, spoolPending: 300, dropped: 0 });
    }
    expect(dataFiles(dir)).toHaveLength(2);
    for (const { state } of hosts) state.down = false;
    for (const { recorder, queue } of hosts) {
      const stats = await statsWhen(recorder, (s) => s.spoolPending === 0 && s.replayed > 0);
      expect(stats).toMatchObject({ replayed: 300, buffered: 0, dropped: 0 });
      expect(await countsFor(client, queue)).toMatchObject({
        jobs: 300,
        completed: 300,
        metricsCompleted: 300,
      });
    }
    expect(await drained(dir)).toEqual([]);
  });

  it('a host whose files another host replayed no longer counts them pending', async () => {
    const dir = tempDir();
    const queue = `spool-taken-${run}`;
    // The first host cannot reach Postgres, and stays so.
    const first = recorderOn(withOutage(database.db).db, `taken-${run}`, dir);
    first.record(completed(queue, 0, 300));
    expect(await statsWhen(first, (s) => s.spilled > 0)).toMatchObject({ spilled: 300, spoolPending: 300 });
    expect(dataFiles(dir)).toHaveLength(1);

    // A second host that takes any other host's files and claims at once (a stale period of 0)
    // replays them.
    const second = recorderOn(database.db, `taker-${run}`, dir, { spoolOrphanAfterMs: 0 });
    expect(await statsWhen(second, (s) => s.replayed === 300)).toMatchObject({ replayed: 300 });
    expect(await drained(dir)).toEqual([]);

    const stats = await statsWhen(first, (s) => s.spoolPending === 0);
    expect(stats).toMatchObject({ spilled: 300, replayed: 0, written: 0, dropped: 0 });
    // Written once each: a replay counts nothing twice.
    expect(await countsFor(client, queue)).toMatchObject({
      jobs: 300,
      completed: 300,
      metricsCompleted: 300,
    });
  });
});
