import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import { recorderDeadLetters } from '../../drizzle/schema';
import type { Host } from '../../functions/queries/hosts';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { Seed } from './support/seed';

interface DeadLetterBody {
  id: number;
  hostId: string;
  connection: string;
  queue: string;
  jobId: string;
  kind: string;
  attempt: number | null;
  row: string;
  rowTruncated: boolean;
  error: string;
  sqlstate: string | null;
  createdAt: string;
}

interface Page {
  deadLetters: DeadLetterBody[];
  nextCursor: string | null;
}

let database: NeonDatabaseHandle;
let seed: Seed;
let viewer: string;
const host = unique('dl-host');
const otherHost = unique('dl-other');
const queue = unique('dl-queue');

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  viewer = (await createToken('viewer')).token;
  await seed.host({ hostId: host });
  await seed.host({ hostId: otherHost });
  // Rows set aside as a recorder sets them aside (worker-host/recorder/dead-letters.ts), oldest first.
  const row = (jobId: string) =>
    JSON.stringify({ connection: 'default', queue, jobId, attempt: 3_000_000_000 });
  await database.db.insert(recorderDeadLetters).values([
    ...['a', 'b', 'c'].map((jobId) => ({
      hostId: host,
      connection: 'default',
      queue,
      jobId,
      kind: 'job' as const,
      row: row(jobId),
      error: 'value "3000000000" is out of range for type integer',
      sqlstate: '22003',
    })),
    {
      hostId: otherHost,
      connection: 'other',
      queue,
      jobId: 'd',
      kind: 'attempt' as const,
      attempt: 2,
      row: row('d'),
      error: 'timestamp out of range',
      sqlstate: '22008',
    },
  ]);
});

afterAll(async () => {
  await database.db.delete(recorderDeadLetters).where(inArray(recorderDeadLetters.hostId, [host, otherHost]));
  await seed.cleanup();
  await database.close();
});

async function page(query: string, token = viewer): Promise<Page> {
  const response = await call(`/api/recorder/dead-letters${query}`, { headers: bearer(token) });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json<Page>();
}

describe('GET /api/recorder/dead-letters', () => {
  it('shows a viewer the rows set aside, newest first, page by page', async () => {
    const first = await page(`?host=${host}&limit=2`);
    expect(first.deadLetters.map((l) => l.jobId)).toEqual(['c', 'b']);
    expect(first.deadLetters[0]).toMatchObject({
      hostId: host,
      connection: 'default',
      queue,
      kind: 'job',
      attempt: null,
      rowTruncated: false,
      error: 'value "3000000000" is out of range for type integer',
      sqlstate: '22003',
    });
    expect(JSON.parse(first.deadLetters[0]?.row ?? '')).toMatchObject({ jobId: 'c', attempt: 3_000_000_000 });
    expect(Date.parse(first.deadLetters[0]?.createdAt ?? '')).toBeGreaterThan(Date.now() - 600_000);
    expect(first.nextCursor).toMatch(/^\d+$/);
    const second = await page(`?host=${host}&limit=2&cursor=${first.nextCursor}`);
    expect(second).toMatchObject({ nextCursor: null });
    expect(second.deadLetters.map((l) => l.jobId)).toEqual(['a']);
  });

  it('filters by connection and queue', async () => {
    const other = await page(`?connection=other&queue=${queue}`);
    expect(other.deadLetters.map((l) => [l.jobId, l.kind, l.attempt, l.sqlstate])).toEqual([
      ['d', 'attempt', 2, '22008'],
    ]);
    expect((await page(`?queue=${queue}&limit=500`)).deadLetters).toHaveLength(4);
  });

  it('needs credentials, and refuses a bad page with a 400', async () => {
    expect((await call('/api/recorder/dead-letters')).status).toBe(401);
    for (const query of ['?limit=0', '?cursor=abc', '?host=two%20words', '?whatever=1']) {
      const response = await call(`/api/recorder/dead-letters${query}`, { headers: bearer(viewer) });
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).code).toBe('bad_request');
    }
  });
});

describe('GET /api/hosts', () => {
  it('shows how many rows each host has set aside', async () => {
    const response = await call('/api/hosts?limit=1000', { headers: adminHeaders() });
    expect(response.status).toBe(200);
    const { hosts } = await response.json<{ hosts: Host[] }>();
    expect(hosts.find((h) => h.hostId === host)?.deadLetters).toBe(3);
    expect(hosts.find((h) => h.hostId === otherHost)?.deadLetters).toBe(1);
  });
});
