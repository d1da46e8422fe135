import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { FailedCount } from '../../functions/queries/failed-count';
import { COUNT_CAP } from '../../functions/queries/job-stats';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { job, Seed } from './support/seed';

/**
 * GET /api/failed/count: what a bulk retry or delete with the failed list's filter would touch,
 * shown before the operator confirms it. Exact up to COUNT_CAP, a lower bound past it.
 */

let database: NeonDatabaseHandle;
let seed: Seed;
const queue = unique('count-q');
const connection = unique('count-conn');
const crowd = unique('count-crowd');
const crowdConnection = unique('count-crowd-conn');

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  const failedAt = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
  await seed.jobs([
    ...Array.from({ length: 9 }, (_, i) =>
      job(queue, `failed-${i}`, {
        connection,
        status: 'failed',
        name: i < 3 ? 'charge-card' : 'send-email',
        secondsAgo: 3600 - i * 60,
        completedAt: failedAt(50 - i),
        exception: i % 3 === 0 ? 'Error: card declined' : 'Error: timeout after 30000ms',
      }),
    ),
    // Not failed: never counted, whatever else matches.
    job(queue, 'done-0', { connection, status: 'completed', exception: 'Error: card declined' }),
    job(queue, 'retrying-0', { connection, status: 'retrying', exception: 'Error: card declined' }),
    // Failed elsewhere: another connection.
    job(queue, 'other-conn', {
      connection: unique('other'),
      status: 'failed',
      exception: 'Error: card declined',
    }),
  ]);
  // Past the cap: COUNT_CAP + 1 failed jobs in one queue, all but one of them named `bulk-a`.
  await seed.jobs(
    Array.from({ length: COUNT_CAP + 1 }, (_, i) =>
      job(crowd, `crowd-${i}`, {
        connection: crowdConnection,
        status: 'failed',
        name: i === 0 ? 'bulk-b' : 'bulk-a',
        secondsAgo: 7200 - i,
        exception: 'Error: upstream unavailable',
      }),
    ),
  );
});

afterAll(async () => {
  await seed?.cleanup();
  await database?.close();
});

async function count(query: string, headers = adminHeaders()): Promise<FailedCount> {
  const response = await call(`/api/failed/count?${query}`, { headers });
  if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
  return response.json<FailedCount>();
}

async function listed(query: string): Promise<number> {
  const response = await call(`/api/failed?${query}&limit=200`, { headers: adminHeaders() });
  return (await response.json<{ jobs: unknown[] }>()).jobs.length;
}

describe('GET /api/failed/count', () => {
  it('counts exactly the failed jobs the list shows for the same filter', async () => {
    const minutesAgo = (minutes: number) =>
      encodeURIComponent(new Date(Date.now() - minutes * 60_000).toISOString());
    const cases: Array<[string, number]> = [
      [`queue=${queue}`, 10],
      [`queue=${queue}&connection=${connection}`, 9],
      [`connection=${connection}`, 9],
      [`connection=${connection}&search=card%20declined`, 3],
      [`queue=${queue}&search=declined`, 4],
      [`connection=${connection}&name=charge-card`, 3],
      [`connection=${connection}&name=send-email&search=timeout`, 4],
      [`connection=${connection}&failedAfter=${minutesAgo(45.5)}`, 4],
      [`connection=${connection}&failedBefore=${minutesAgo(45.5)}`, 5],
      [`connection=${connection}&search=nothing-like-this`, 0],
    ];
    for (const [query, expected] of cases) {
      expect(await count(query), query).toEqual({ count: expected, certainty: 'exact' });
      expect(await listed(query), query).toBe(expected);
    }
  });

  it('stops at the cap and says the count is a lower bound', async () => {
    expect(await count(`queue=${crowd}`)).toEqual({ count: COUNT_CAP, certainty: 'lower_bound' });
    // Through the word index too (a search), and the same cap whatever the connection filter.
    expect(await count(`connection=${crowdConnection}&search=upstream`)).toEqual({
      count: COUNT_CAP,
      certainty: 'lower_bound',
    });
    // Exactly the cap is exact.
    expect(await count(`queue=${crowd}&name=bulk-a`)).toEqual({ count: COUNT_CAP, certainty: 'exact' });
    expect(await count(`queue=${crowd}&name=bulk-b`)).toEqual({ count: 1, certainty: 'exact' });
  });

  it('answers a viewer (a read), refuses anonymous requests, and keeps bulk commands to operators', async () => {
    const viewer = await createToken('viewer');
    expect(await count(`connection=${connection}`, bearer(viewer.token))).toEqual({
      count: 9,
      certainty: 'exact',
    });
    expect((await call(`/api/failed/count?connection=${connection}`)).status).toBe(401);
    const before = await commandsFor(connection);
    for (const verb of ['retry', 'delete']) {
      const forced = await call(`/api/failed/${verb}`, {
        method: 'POST',
        headers: bearer(viewer.token),
        json: { filter: { connection } },
      });
      expect(forced.status, verb).toBe(403);
      expect((await errorOf(forced)).code).toBe('forbidden');
    }
    expect(await commandsFor(connection)).toEqual(before);
  });

  it('refuses bad filters with a 400 that names the parameter', async () => {
    const bad: Array<[string, string]> = [
      ['search=ab', 'search'],
      ['search=%00abc', 'search'],
      ['queue=a%0Ab', 'queue'],
      ['failedAfter=yesterday', 'failedAfter'],
      ['failedBefore=0000-01-01T00:00:00Z', 'failedBefore'],
      ['status=completed', 'status'],
      ['limit=10', 'limit'],
      ['cursor=abc', 'cursor'],
      [`connection=${'c'.repeat(201)}`, 'connection'],
    ];
    for (const [query, parameter] of bad) {
      const response = await call(`/api/failed/count?${query}`, { headers: adminHeaders() });
      expect(response.status, query).toBe(400);
      const error = await errorOf(response);
      expect(error.code, query).toBe('bad_request');
      expect(error.message, query).toContain(parameter);
    }
  });
});

async function commandsFor(target: string): Promise<string[]> {
  const rows = rowsOf<{ id: string }>(
    await database.db.execute(
      sql`select id from watchtower_commands where target_id = ${target} order by id`,
    ),
  );
  return rows.map((row) => row.id);
}
