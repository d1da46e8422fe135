import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../core/db/database';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { halves, rowRefusal, UnwritableRows } from '../../worker-host/recorder/dead-letters';
import type { JobEvent } from '../../worker-host/recorder/job-event';
import type { JobRow, RowBatch } from '../../worker-host/recorder/record-batch';
import { createRecorder } from '../../worker-host/recorder/recorder';
import { Spool } from '../../worker-host/recorder/spool';
import { testEnv } from '../setup/test-env';
import { countsFor, pollUntil } from './fixtures/recorder-harness';

/**
 * A row Postgres refuses for its content is set aside with its error, counted, and never holds back
 * the rows behind it, whether it comes live or from the spool. The refusals are made on purpose:
 * an attempt number past Postgres's `integer` (22003), and a time far past its `timestamptz`, refused
 * as out of range too (22003: an undated job's `job_timestamp`, a `bigint`, is taken from that time).
 */

const run = Math.random().toString(36).slice(2, 8);
const database = createNodeDatabase(testEnv.databaseUrl);
const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 2 });
const dirs: string[] = [];

afterAll(async () => {
  for (const table of [
    'watchtower_job_attempts',
    'watchtower_jobs',
    'watchtower_metrics',
    'watchtower_recorder_dead_letters',
  ]) {
    await client.query(`delete from ${table} where queue like $1`, [`dl-%-${run}`]);
  }
  await database.close();
  await client.end();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wt-dead-letters-'));
  dirs.push(dir);
  return dir;
}

const t = Date.now() - 1_000;

function completed(queue: string, jobId: string, fields: Partial<JobEvent> = {}): JobEvent {
  return {
    kind: 'completed',
    connection: 'default',
    queue,
    jobId,
    attempt: 1,
    queuedAt: t,
    startedAt: t + 10,
    finishedAt: t + 20,
    ...fields,
  };
}

async function deadLetters(queue: string) {
  const { rows } = await client.query(
    `select host_id, job_id, kind, attempt, sqlstate, error, row, row_truncated
     from watchtower_recorder_dead_letters where queue = $1 order by job_id, kind`,
    [queue],
  );
  return rows;
}

describe('telling a refusal of the rows from a passing failure', () => {
  const coded = (code: string) => Object.assign(new Error(`postgres says ${code}`), { code });

  it('splits on data errors only, wherever the driver error sits in the cause chain', () => {
    for (const code of ['22021', '22P05', '22003', '22008', '23505', '21000', '54001']) {
      expect(rowRefusal(coded(code))).toEqual({ sqlstate: code, message: `postgres says ${code}` });
    }
    // Drizzle wraps the driver's error in one whose message is the whole statement.
    const wrapped = new Error('Failed query: with j_in as (...)', { cause: coded('22021') });
    expect(rowRefusal(wrapped)?.sqlstate).toBe('22021');
    expect(rowRefusal(new UnwritableRows(new TypeError('x is null')))?.sqlstate).toBeUndefined();
    // The connection, a restart, resources, a deadlock, an old schema: retried, never split.
    for (const code of ['08006', '57P01', '57P03', '53300', '53100', '40001', '40P01', '42P01', 'XX000']) {
      expect(rowRefusal(coded(code))).toBeUndefined();
    }
    expect(
      rowRefusal(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBeUndefined();
    expect(rowRefusal(new AggregateError([], ''))).toBeUndefined();
  });

  it('halves a batch into two non-empty batches, jobs first', () => {
    const job = (id: string) => ({ jobId: id }) as JobRow;
    const batch = { jobs: [job('a'), job('b'), job('c')], attempts: [{}, {}] } as RowBatch;
    const [first, second] = halves(batch);
    expect([first.jobs.length, first.attempts.length, second.jobs.length, second.attempts.length]).toEqual([
      2, 0, 1, 2,
    ]);
    const [one, other] = halves({ jobs: [job('a')], attempts: [{}] } as RowBatch);
    expect([one.jobs.length + one.attempts.length, other.jobs.length + other.attempts.length]).toEqual([
      1, 1,
    ]);
  });
});

describe('rows Postgres refuses', () => {
  it('sets a refused row aside with its error, counts it, and writes every row behind it', async () => {
    const queue = `dl-live-${run}`;
    const hostId = `dl-live-host-${run}`;
    const recorder = createRecorder({ db: database.db, hostId, spoolDir: tempDir(), flushIntervalMs: 20 });
    try {
      const events = Array.from({ length: 300 }, (_, i) => completed(queue, `ok-${i}`));
      // Two refused rows among them: one job row (and its attempt row) whose attempt number is past
      // `integer`, and one failed run whose start is past `timestamptz`.
      events.splice(100, 0, completed(queue, 'bad-int', { attempt: 3_000_000_000 }));
      events.splice(200, 0, {
        kind: 'failed',
        connection: 'default',
        queue,
        jobId: 'bad-time',
        attempt: 2,
        startedAt: 1e20,
        finishedAt: 1e20,
        error: 'boom',
      });
      recorder.record(events);
      await recorder.flush();

      const counts = await countsFor(client, queue);
      expect(counts).toMatchObject({ jobs: 300, completed: 300, metricsCompleted: 300 });
      const letters = await deadLetters(queue);
      expect(letters.map((l) => `${l.job_id}:${l.kind}:${l.sqlstate}`)).toEqual([
        'bad-int:attempt:22003',
        'bad-int:job:22003',
        'bad-time:attempt:22003',
        'bad-time:job:22003',
      ]);
      // An attempt number the column cannot hold is kept in the row's JSON only.
      expect(letters[0]).toMatchObject({ host_id: hostId, attempt: null, row_truncated: false });
      expect(letters[0].error).toMatch(/out of range/);
      expect(JSON.parse(letters[1].row)).toMatchObject({ jobId: 'bad-int', attempt: 3_000_000_000 });
      expect(recorder.stats()).toMatchObject({ deadLettered: 4, dropped: 0, buffered: 0 });
      expect(recorder.stats().lastError).toMatch(/set aside \(22003\)/);

      // The recorder goes on as before: the next rows are written at once.
      recorder.record([completed(queue, 'after')]);
      await recorder.flush();
      expect((await countsFor(client, queue)).completed).toBe(301);
    } finally {
      await recorder.close();
    }
  });

  it('counts a refused row as dropped when even the dead-letter table refuses it, and moves on', async () => {
    const queue = `dl-dropped-${run}`;
    const dialect = new PgDialect();
    // The fault, made on purpose: every insert into the dead-letter table is refused as too long.
    const refusing = new Proxy(database.db, {
      get(target, property, receiver) {
        if (property !== 'execute') return Reflect.get(target, property, receiver);
        return async (query: Parameters<Database['execute']>[0]) => {
          const text = dialect.sqlToQuery(query as Parameters<PgDialect['sqlToQuery']>[0]).sql;
          if (text.includes('watchtower_recorder_dead_letters')) {
            throw Object.assign(new Error('value too long (made on purpose)'), { code: '22001' });
          }
          return target.execute(query);
        };
      },
    });
    const recorder = createRecorder({ db: refusing, hostId: `dl-dropped-host-${run}`, spoolDir: tempDir() });
    try {
      recorder.record([
        completed(queue, 'before'),
        completed(queue, 'bad', { queuedAt: 1e20, startedAt: 1e20, finishedAt: 1e20 }),
        completed(queue, 'after'),
      ]);
      await recorder.flush();
      expect(recorder.stats()).toMatchObject({ dropped: 1, deadLettered: 0, buffered: 0 });
      expect(recorder.stats().lastError).toMatch(/dropped \(22003\).*made on purpose/);
      expect((await countsFor(client, queue)).completed).toBe(2);
      expect(await deadLetters(queue)).toEqual([]);
    } finally {
      await recorder.close();
    }
  });

  it('replays a spooled line past its refused row, and finishes the file', async () => {
    const queue = `dl-spool-${run}`;
    const dir = tempDir();
    const row = (jobId: string, fields: Partial<JobRow> = {}): JobRow => ({
      connection: 'default',
      queue,
      jobId,
      status: 'completed',
      attempt: 1,
      queuedAt: t,
      startedAt: t + 10,
      finishedAt: t + 20,
      ...fields,
    });
    // Spilled by a host that is gone: a line with a refused row in the middle, and one after it.
    const gone = new Spool({ dir, hostId: `dl-gone-${run}` });
    await gone.append([
      {
        jobs: [row('s-1'), row('s-bad', { attempt: 3_000_000_000 }), row('s-2'), row('s-nul\u0000')],
        attempts: [],
      },
      { jobs: [row('s-3')], attempts: [] },
    ]);
    const recorder = createRecorder({
      db: database.db,
      hostId: `dl-replay-${run}`,
      spoolDir: dir,
      spoolOrphanAfterMs: 0,
      flushIntervalMs: 20,
    });
    try {
      const replayed = await pollUntil(
        async () => recorder.stats().replayed,
        (n) => n === 5,
        20_000,
        50,
      );
      expect(replayed).toBe(5);
      const { rows } = await client.query<{ job_id: string; sanitized: boolean }>(
        'select job_id, sanitized from watchtower_jobs where queue = $1 order by job_id',
        [queue],
      );
      // The NUL a spool line carried is cleaned on the way, the refused row set aside.
      expect(rows).toEqual([
        { job_id: 's-1', sanitized: false },
        { job_id: 's-2', sanitized: false },
        { job_id: 's-3', sanitized: false },
        { job_id: 's-nul\ufffd', sanitized: true },
      ]);
      expect((await deadLetters(queue)).map((l) => l.job_id)).toEqual(['s-bad']);
      expect(recorder.stats()).toMatchObject({ deadLettered: 1, sanitized: 1, dropped: 0 });
      // The file is done with, not left to fail again at every start (the host's own `.owner`
      // record stays while it runs).
      expect(
        await pollUntil(
          async () => readdirSync(dir).filter((name) => !name.endsWith('.owner')),
          (names) => names.length === 0,
          10_000,
          50,
        ),
      ).toEqual([]);
    } finally {
      await recorder.close();
    }
  });
});
