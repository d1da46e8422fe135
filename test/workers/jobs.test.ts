import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { JobDetail, JobSummary } from '../../functions/queries/job-schemas';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { job, Seed, type SeededJob } from './support/seed';

interface JobList {
  jobs: JobSummary[];
  nextCursor: string | null;
}

let database: NeonDatabaseHandle;
let seed: Seed;
const queue = unique('jobs-q');
const connection = unique('jobs-conn');
const token = unique('needle');
const name = unique('jobname');
let seeded: SeededJob[] = [];

async function get<T>(path: string, headers = adminHeaders()): Promise<T> {
  const response = await call(path, { headers });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json<T>();
}

/** Every page of a list, following nextCursor. */
async function allPages(path: string): Promise<JobSummary[]> {
  const rows: JobSummary[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 50; page++) {
    const separator = path.includes('?') ? '&' : '?';
    const body: JobList = await get<JobList>(
      cursor === null ? path : `${path}${separator}cursor=${encodeURIComponent(cursor)}`,
    );
    rows.push(...body.jobs);
    cursor = body.nextCursor;
    if (cursor === null) return rows;
  }
  throw new Error('more than 50 pages');
}

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  const statuses = ['completed', 'failed', 'queued', 'processing', 'delayed'] as const;
  // 30 jobs; every third shares its queued_at with the next, so pages must break ties by id.
  const base = Date.now() - 3_600_000;
  const rows = Array.from({ length: 30 }, (_, i) =>
    job(queue, `job-${i}`, {
      status: statuses[i % statuses.length],
      queuedAt: new Date(base + Math.floor(i / 2) * 1000),
      name: i === 7 ? name : 'test-job',
      payload: i === 11 ? { customer: `${token}-in-data` } : { n: i },
      exception: i === 13 ? `Error: boom ${token}-in-exception` : null,
    }),
  );
  rows.push(job(queue, `job-${token}-in-id`, { queuedAt: new Date(base - 5000) }));
  rows.push(
    ...Array.from({ length: 3 }, (_, i) =>
      job(queue, `other-conn-${i}`, { connection, queuedAt: new Date(base) }),
    ),
  );
  seeded = await seed.jobs(rows);
  await seed.attempts([
    {
      queue,
      jobId: 'job-1',
      attempt: 1,
      status: 'failed',
      startedAt: new Date(base + 100),
      finishedAt: new Date(base + 200),
      errorMessage: 'first try',
      workerId: 'w-1',
    },
    {
      queue,
      jobId: 'job-1',
      attempt: 2,
      status: 'failed',
      startedAt: new Date(base + 300),
      finishedAt: new Date(base + 400),
      errorMessage: 'second try',
      workerId: 'w-2',
    },
  ]);
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

describe('GET /api/jobs', () => {
  it('pages a queue newest first by key, with no duplicate and no gap', async () => {
    const rows = await allPages(`/api/jobs?queue=${queue}&limit=7`);
    expect(rows).toHaveLength(seeded.length);
    expect(new Set(rows.map((row) => row.id)).size).toBe(seeded.length);
    const keys = rows.map((row) => [Date.parse(row.queuedAt), row.id] as const);
    for (let i = 1; i < keys.length; i++) {
      const [at, id] = keys[i]!;
      const [previousAt, previousId] = keys[i - 1]!;
      expect(at < previousAt || (at === previousAt && id < previousId)).toBe(true);
    }
  });

  it('pages by the microsecond: rows queued within one millisecond neither repeat nor go missing', async () => {
    const tight = unique('jobs-us');
    const rows = await seed.jobs(Array.from({ length: 7 }, (_, i) => job(tight, `us-${i}`)));
    // Later rows (higher ids) get earlier instants, all inside one millisecond.
    for (const [i, row] of rows.entries()) {
      await database.db.execute(
        sql`update watchtower_jobs set queued_at = timestamptz '2026-01-01 00:00:00.000900+00' - make_interval(secs => ${i} * 0.0001)
            where id = ${row.id}`,
      );
    }
    const paged = await allPages(`/api/jobs?queue=${tight}&limit=2`);
    expect(paged.map((row) => row.jobId)).toEqual(rows.map((row) => row.jobId));
    const oldest = await allPages(`/api/jobs?queue=${tight}&limit=3&sort=oldest`);
    expect(oldest.map((row) => row.jobId)).toEqual(rows.map((row) => row.jobId).reverse());
  });

  it('pages oldest first too', async () => {
    const rows = await allPages(`/api/jobs?queue=${queue}&limit=4&sort=oldest`);
    expect(rows.map((row) => row.id)).toEqual(
      [...seeded]
        .sort((a, b) => a.queuedAt.getTime() - b.queuedAt.getTime() || a.id - b.id)
        .map((row) => row.id),
    );
  });

  it('filters by status within a queue, and by status alone', async () => {
    const failed = await allPages(`/api/jobs?queue=${queue}&status=failed`);
    expect(failed.map((row) => row.jobId).sort()).toEqual(
      ['job-1', 'job-11', 'job-16', 'job-21', 'job-26', 'job-6'].sort(),
    );
    const anyQueue = await get<JobList>('/api/jobs?status=processing&limit=5');
    expect(anyQueue.jobs.every((row) => row.status === 'processing')).toBe(true);
  });

  it('filters by connection, name and queued time', async () => {
    const byConnection = await allPages(`/api/jobs?connection=${connection}`);
    expect(byConnection.map((row) => row.jobId).sort()).toEqual([
      'other-conn-0',
      'other-conn-1',
      'other-conn-2',
    ]);
    const byName = await allPages(`/api/jobs?name=${name}`);
    expect(byName.map((row) => row.jobId)).toEqual(['job-7']);
    const first = seeded.find((row) => row.jobId === 'job-4')!;
    const last = seeded.find((row) => row.jobId === 'job-9')!;
    const window = await allPages(
      `/api/jobs?queue=${queue}&from=${first.queuedAt.toISOString()}&to=${last.queuedAt.toISOString()}`,
    );
    expect(window.map((row) => row.jobId).sort()).toEqual(['job-4', 'job-5', 'job-6', 'job-7'].sort());
  });

  it('searches the words of the job id, exception and data', async () => {
    const ids = async (q: string) =>
      (await allPages(`/api/jobs?q=${encodeURIComponent(q)}`)).map((row) => row.jobId).sort();
    const all = [`job-${token}-in-id`, 'job-11', 'job-13'].sort();
    expect(await ids(token)).toEqual(all);
    // Case and punctuation do not matter, but the parts of one word must appear together, in order.
    expect(await ids(`${token.toUpperCase()}-IN-EXCEPTION`)).toEqual(['job-13']);
    expect(await ids(`${token}%`)).toEqual(all);
    expect(await ids(`in-exception-${token}`)).toEqual([]);
    // Words separated by spaces must all appear, in any order.
    expect(await ids(`in-data ${token}`)).toEqual(['job-11']);
    expect(await ids(`${token} in-nowhere`)).toEqual([]);
    // A word ending in * may end with the start of a longer part; without it, parts are whole.
    expect(await ids(`${token}-in-exce*`)).toEqual(['job-13']);
    expect(await ids(`${token}-in-exce`)).toEqual([]);
    expect(await ids(`${token}-in-d*`)).toEqual([]);
    // Pages of two: answered by the ordered walk while a page holds matches, by the index after.
    const paged = await allPages(`/api/jobs?q=${encodeURIComponent(token)}&limit=2`);
    expect(paged.map((row) => row.jobId).sort()).toEqual(all);
  });

  it('answers 400 with details for bad filters, and changes nothing', async () => {
    for (const query of [
      'status=bogus',
      'limit=0',
      'limit=1000',
      'q=ab',
      'from=yesterday',
      'cursor=nope',
      'colour=red',
      'sort=random',
    ]) {
      const response = await call(`/api/jobs?${query}`, { headers: adminHeaders() });
      expect(response.status, query).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe('bad_request');
    }
  });

  it('lets a viewer read and refuses anyone without credentials', async () => {
    const viewer = await createToken('viewer');
    expect((await call(`/api/jobs?queue=${queue}`, { headers: bearer(viewer.token) })).status).toBe(200);
    expect((await call(`/api/jobs?queue=${queue}`)).status).toBe(401);
  });
});

describe('GET /api/jobs/{id}', () => {
  it('answers a job with its data, attempts and timeline', async () => {
    const row = seeded.find((candidate) => candidate.jobId === 'job-1')!;
    const detail = await get<JobDetail>(`/api/jobs/${row.id}`);
    expect(detail).toMatchObject({ id: row.id, jobId: 'job-1', queue, status: 'failed', payload: { n: 1 } });
    expect(detail.attemptHistory.map((attempt) => attempt.errorMessage)).toEqual(['first try', 'second try']);
    expect(detail.timeline.map((event) => event.event)).toEqual([
      'queued',
      'started',
      'failed',
      'started',
      'failed',
    ]);
  });

  it('shows a clean first run, which the recorder keeps in the job row, as its one attempt', async () => {
    const started = new Date(Date.now() - 10_000);
    const [clean] = await seed.jobs([
      job(unique('clean-q'), 'clean-run', {
        workerId: 'w-clean',
        startedAt: started,
        completedAt: new Date(started.getTime() + 40),
        runMs: 40,
      }),
    ]);
    const detail = await get<JobDetail>(`/api/jobs/${clean!.id}`);
    expect(detail.attemptHistory).toEqual([
      {
        attempt: 1,
        status: 'completed',
        workerId: 'w-clean',
        hostId: null,
        startedAt: started.toISOString(),
        finishedAt: new Date(started.getTime() + 40).toISOString(),
        runMs: 40,
        errorMessage: null,
        errorStack: null,
      },
    ]);
    expect(detail.timeline.map((event) => event.event)).toEqual(['queued', 'started', 'completed']);
  });

  it('still shows that first run while the job waits to run again after a retry', async () => {
    const started = new Date(Date.now() - 10_000);
    const run = { startedAt: started, completedAt: new Date(started.getTime() + 40), runMs: 40 };
    const [retried, failed] = await seed.jobs([
      job(unique('retried-q'), 'retried-run', { ...run, status: 'retrying', workerId: 'w-clean' }),
      // A failed first run always has its attempt row; without one, nothing is made up.
      job(unique('retried-q'), 'failed-run', { ...run, status: 'retrying', exception: 'Error: no' }),
    ]);
    const detail = await get<JobDetail>(`/api/jobs/${retried!.id}`);
    expect(detail.attemptHistory).toMatchObject([{ attempt: 1, status: 'completed', workerId: 'w-clean' }]);
    expect((await get<JobDetail>(`/api/jobs/${failed!.id}`)).attemptHistory).toEqual([]);
  });

  it('says when the recorder cleaned or cut what it stored', async () => {
    const [cleaned] = await seed.jobs([
      job(unique('cleaned-q'), 'nul\ufffdid', {
        payload: { text: 'a\ufffdb' },
        sanitized: true,
        payloadTruncated: true,
      }),
    ]);
    const detail = await get<JobDetail>(`/api/jobs/${cleaned!.id}`);
    expect(detail).toMatchObject({ jobId: 'nul\ufffdid', sanitized: true, payloadTruncated: true });
    const list = await get<JobList>(`/api/jobs?queue=${encodeURIComponent(cleaned!.queue)}`);
    expect(list.jobs.map((j) => [j.sanitized, j.payloadTruncated])).toEqual([[true, true]]);
    expect((await get<JobDetail>(`/api/jobs/${seeded[0]!.id}`)).sanitized).toBe(false);
  });

  it('shows a run cut off with its host before its start was recorded: stalled, no start', async () => {
    const started = new Date(Date.now() - 10_000);
    const lostQueue = unique('lost-q');
    const [lost] = await seed.jobs([
      job(lostQueue, 'lost-run', {
        attempts: 2,
        workerId: 'w-live',
        startedAt: started,
        completedAt: new Date(started.getTime() + 40),
        runMs: 40,
      }),
    ]);
    await seed.attempts([
      {
        queue: lostQueue,
        jobId: 'lost-run',
        attempt: 1,
        status: 'stalled',
        startedAt: null,
        finishedAt: started,
        errorMessage: 'Cut off with its host before its start was recorded',
      },
      {
        queue: lostQueue,
        jobId: 'lost-run',
        attempt: 2,
        status: 'completed',
        startedAt: started,
        finishedAt: new Date(started.getTime() + 40),
        workerId: 'w-live',
      },
    ]);
    const detail = await get<JobDetail>(`/api/jobs/${lost!.id}`);
    expect(detail.attemptHistory).toMatchObject([
      { attempt: 1, status: 'stalled', startedAt: null, finishedAt: started.toISOString() },
      { attempt: 2, status: 'completed', startedAt: started.toISOString() },
    ]);
    expect(detail.timeline.map((event) => `${event.event}:${event.attempt ?? ''}`)).toEqual([
      'queued:',
      'stalled:1',
      'started:2',
      'completed:2',
    ]);
  });

  it("finds a job by BullMQ's key", async () => {
    const detail = await get<JobDetail>(`/api/jobs/default/${encodeURIComponent(queue)}/job-11`);
    expect(detail.payload).toEqual({ customer: `${token}-in-data` });
  });

  it('shows each job that had a job id on its own, the newest by key unless a timestamp picks another', async () => {
    // BullMQ gave job 'reused' to three jobs in turn (a custom jobId, each removed when done).
    const reused = unique('reused-q');
    const at = Date.now() - 600_000;
    const [oldest, middle, newest] = await seed.jobs([
      job(reused, 'reused', { queuedAt: new Date(at), status: 'completed', payload: { n: 1 } }),
      job(reused, 'reused', { queuedAt: new Date(at + 60_000), status: 'failed', payload: { n: 2 } }),
      job(reused, 'reused', { queuedAt: new Date(at + 120_000), status: 'queued', payload: { n: 3 } }),
    ]);
    const attempt = (jobTimestamp: number, n: number, errorMessage: string) => ({
      queue: reused,
      jobId: 'reused',
      jobTimestamp,
      attempt: n,
      status: 'failed' as const,
      startedAt: new Date(jobTimestamp + n * 1000),
      finishedAt: new Date(jobTimestamp + n * 1000 + 10),
      errorMessage,
    });
    await seed.attempts([attempt(at, 1, 'oldest, run 1'), attempt(at + 60_000, 1, 'middle, run 1')]);
    await seed.attempts([attempt(at + 60_000, 2, 'middle, run 2')]);

    // Lists: one row each.
    const listed = await allPages(`/api/jobs?queue=${reused}`);
    expect(listed.map((row) => [row.id, row.jobTimestamp, row.status])).toEqual([
      [newest!.id, at + 120_000, 'queued'],
      [middle!.id, at + 60_000, 'failed'],
      [oldest!.id, at, 'completed'],
    ]);
    const failedOnly = await allPages(`/api/failed?queue=${reused}`);
    expect(failedOnly.map((row) => row.id)).toEqual([middle!.id]);

    const generations = [
      {
        id: newest!.id,
        jobTimestamp: at + 120_000,
        status: 'queued',
        queuedAt: new Date(at + 120_000).toISOString(),
      },
      {
        id: middle!.id,
        jobTimestamp: at + 60_000,
        status: 'failed',
        queuedAt: new Date(at + 60_000).toISOString(),
      },
      { id: oldest!.id, jobTimestamp: at, status: 'completed', queuedAt: new Date(at).toISOString() },
    ];
    const byKey = `/api/jobs/default/${encodeURIComponent(reused)}/reused`;
    const latest = await get<JobDetail>(byKey);
    expect(latest).toMatchObject({ id: newest!.id, jobTimestamp: at + 120_000, payload: { n: 3 } });
    expect(latest.attemptHistory).toEqual([]);
    expect(latest.generations).toEqual(generations);

    // Each job's attempts are its own.
    const picked = await get<JobDetail>(`${byKey}?timestamp=${at + 60_000}`);
    expect(picked).toMatchObject({ id: middle!.id, status: 'failed', payload: { n: 2 } });
    expect(picked.attemptHistory.map((a) => a.errorMessage)).toEqual(['middle, run 1', 'middle, run 2']);
    expect(picked.generations).toEqual(generations);
    const byId = await get<JobDetail>(`/api/jobs/${oldest!.id}`);
    expect(byId).toMatchObject({ jobTimestamp: at, payload: { n: 1 } });
    expect(byId.attemptHistory.map((a) => a.errorMessage)).toEqual(['oldest, run 1']);
    expect(byId.generations).toEqual(generations);

    const none = await call(`${byKey}?timestamp=${at + 1}`, { headers: adminHeaders() });
    expect(none.status).toBe(404);
    expect((await errorOf(none)).message).toContain(`with timestamp ${at + 1}`);
    for (const bad of ['soon', '-1', '1.5', '12345678901234567', '']) {
      const response = await call(`${byKey}?timestamp=${bad}`, { headers: adminHeaders() });
      expect(response.status, bad).toBe(400);
    }
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    const missing = await call('/api/jobs/999999999999', { headers: adminHeaders() });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
    expect((await call(`/api/jobs/default/${queue}/nope`, { headers: adminHeaders() })).status).toBe(404);
    for (const id of ['abc', '0', '-1', '1.5', '12345678901234567890']) {
      expect((await call(`/api/jobs/${id}`, { headers: adminHeaders() })).status, id).toBe(400);
    }
  });
});

describe('bad input on the jobs routes', () => {
  it('answers every fuzzed request with a 4xx (or, for free-text filters, a 2xx) and changes nothing', async () => {
    const row = seeded[0]!;
    await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_jobs', 'watchtower_audit_log'],
      watch: [
        {
          label: 'the seeded jobs',
          query: sql`select id, status, updated_at from watchtower_jobs where queue = ${queue} order by id`,
        },
      ],
      routes: [
        {
          method: 'GET',
          path: '/api/jobs',
          query: {
            status: 'failed',
            queue,
            connection: 'default',
            name: 'test-job',
            from: new Date(Date.now() - 86_400_000).toISOString(),
            to: new Date().toISOString(),
            q: 'job-1',
            sort: 'oldest',
            limit: '10',
          },
          freeTextQuery: ['queue', 'connection', 'name', 'q'],
        },
        { method: 'GET', path: `/api/jobs/${row.id}`, idTemplate: '/api/jobs/{id}', idKind: 'number' },
        {
          method: 'GET',
          path: `/api/jobs/default/${queue}/${row.jobId}`,
          idTemplate: `/api/jobs/default/${queue}/{id}`,
          idKind: 'text',
        },
      ],
    });
  });
});
