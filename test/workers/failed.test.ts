import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { rowsOf } from '../../core/db/database';
import type { NeonDatabaseHandle } from '../../core/db/neon-database';
import type { CommandResponse } from '../../functions/commands/command-view';
import type { JobSummary } from '../../functions/queries/job-schemas';
import { adminHeaders, bearer, call, createToken, errorOf, unique } from './support/api';
import { openTestDatabase } from './support/database';
import { fuzzRoutes } from './support/fuzz';
import { claimCommand, job, Seed, type SeededJob } from './support/seed';

interface JobList {
  jobs: JobSummary[];
  nextCursor: string | null;
}

let database: NeonDatabaseHandle;
let seed: Seed;
let bus: CommandBus;
const queue = unique('failed-q');
const connection = unique('failed-conn');
let seeded: SeededJob[] = [];

beforeAll(async () => {
  database = openTestDatabase();
  seed = new Seed(database.db);
  bus = new DatabaseCommandBus(database.db);
  const failedAt = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
  seeded = await seed.jobs([
    ...Array.from({ length: 12 }, (_, i) =>
      job(queue, `failed-${i}`, {
        connection,
        status: 'failed',
        secondsAgo: 3600 - i * 60,
        completedAt: failedAt(50 - i),
        exception: i % 3 === 0 ? 'Error: card declined' : 'Error: timeout after 30000ms',
      }),
    ),
    job(queue, 'done-0', { connection, status: 'completed' }),
    job(queue, 'waiting-0', { connection, status: 'queued' }),
  ]);
});

afterAll(async () => {
  await seed.cleanup();
  await database.close();
});

async function list(query: string): Promise<JobList> {
  const response = await call(`/api/failed?${query}`, { headers: adminHeaders() });
  if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
  return response.json<JobList>();
}

function idOf(jobId: string): number {
  return seeded.find((row) => row.jobId === jobId)!.id;
}

/** BullMQ's timestamp of a seeded job, as the API gives it: its queued_at to the millisecond. */
function timestampOf(jobId: string): number {
  return seeded.find((row) => row.jobId === jobId)!.queuedAt.getTime();
}

describe('GET /api/failed', () => {
  it('lists only failed jobs, newest first, paged by key', async () => {
    const first = await list(`queue=${queue}&limit=5`);
    expect(first.jobs.map((row) => row.jobId)).toEqual([
      'failed-11',
      'failed-10',
      'failed-9',
      'failed-8',
      'failed-7',
    ]);
    const second = await list(`queue=${queue}&limit=5&cursor=${first.nextCursor}`);
    const third = await list(`queue=${queue}&limit=5&cursor=${second.nextCursor}`);
    expect([...first.jobs, ...second.jobs, ...third.jobs].map((row) => row.jobId)).toEqual(
      Array.from({ length: 12 }, (_, i) => `failed-${11 - i}`),
    );
    expect(third.nextCursor).toBeNull();
  });

  it('filters like the bulk commands: connection, search, failure time', async () => {
    const declined = await list(`connection=${connection}&search=card%20declined`);
    expect(declined.jobs.map((row) => row.jobId)).toEqual(['failed-9', 'failed-6', 'failed-3', 'failed-0']);
    const recent = await list(
      `queue=${queue}&failedAfter=${encodeURIComponent(new Date(Date.now() - 42.5 * 60_000).toISOString())}`,
    );
    expect(recent.jobs.map((row) => row.jobId)).toEqual(['failed-11', 'failed-10', 'failed-9', 'failed-8']);
  });

  it('refuses bad filters with 400', async () => {
    for (const query of ['search=ab', 'failedAfter=now', 'status=failed', 'limit=201', 'cursor=x']) {
      expect((await call(`/api/failed?${query}`, { headers: adminHeaders() })).status, query).toBe(400);
    }
  });
});

describe('retrying and deleting one failed job', () => {
  it('sends job.retry for this failed job alone to a host that reaches its connection, audited', async () => {
    const id = idOf('failed-4');
    const response = await call(`/api/failed/${id}/retry`, { method: 'POST', headers: adminHeaders() });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command).toMatchObject({
      type: 'job.retry',
      target: { kind: 'connection', id: connection },
      // Its timestamp: a job that took its id since is not retried; `state`: nor this one once it
      // no longer failed.
      args: { queue, jobId: 'failed-4', connection, timestamp: timestampOf('failed-4'), state: 'failed' },
    });
    const audit = rowsOf<{ action: string; target_id: string }>(
      await database.db.execute(
        sql`select action, target_id from watchtower_audit_log where command_id = ${command.id}`,
      ),
    );
    expect(audit).toEqual([{ action: 'failed.retry', target_id: String(id) }]);
  });

  it('with ?wait, answers with what the host did', async () => {
    const waiting = call(`/api/failed/${idOf('failed-5')}?wait=10`, {
      method: 'DELETE',
      headers: adminHeaders(),
    });
    // failed-4's retry from the test above comes first: commands to one target keep their order.
    for (;;) {
      const claimed = await claimCommand(bus, { kind: 'connection', id: connection });
      if (claimed.type === 'job.delete') {
        expect(claimed.args).toEqual({
          queue,
          jobId: 'failed-5',
          connection,
          timestamp: timestampOf('failed-5'),
        });
        await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true, result: { action: 'removed' } });
        break;
      }
      await bus.acknowledge(claimed.id, claimed.claimToken, { ok: true });
    }
    const response = await waiting;
    expect(response.status).toBe(200);
    expect((await response.json<CommandResponse>()).command).toMatchObject({
      status: 'done',
      result: { action: 'removed' },
    });
  });

  it('answers 404 for an unknown job and 409 for a job that has not failed', async () => {
    expect(
      (await call('/api/failed/999999999999/retry', { method: 'POST', headers: adminHeaders() })).status,
    ).toBe(404);
    const done = await call(`/api/failed/${idOf('done-0')}`, { method: 'DELETE', headers: adminHeaders() });
    expect(done.status).toBe(409);
    expect((await errorOf(done)).message).toContain('completed, not failed');
  });

  it('refuses a viewer with 403', async () => {
    const viewer = await createToken('viewer');
    const response = await call(`/api/failed/${idOf('failed-1')}/retry`, {
      method: 'POST',
      headers: bearer(viewer.token),
    });
    expect(response.status).toBe(403);
  });
});

describe('retrying and deleting every failed job matching a filter', () => {
  it("sends failed.retry-all with the filter to the filter's connection", async () => {
    const response = await call('/api/failed/retry', {
      method: 'POST',
      headers: adminHeaders(),
      json: { filter: { connection, queue, search: 'timeout' }, limit: 500 },
    });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command).toMatchObject({
      type: 'failed.retry-all',
      target: { kind: 'connection', id: connection },
      args: { filter: { connection, queue, search: 'timeout' }, limit: 500 },
      progress: null,
    });
  });

  it('sends failed.delete-all to the default connection when the filter names none, with the default limit', async () => {
    // Real hosts of other suites may serve `default` in this shared database: the unique queue
    // keeps the command harmless if one claims it, and the 1 s TTL keeps it from lingering.
    const response = await call('/api/failed/delete?ttl=1', {
      method: 'POST',
      headers: adminHeaders(),
      json: { filter: { queue } },
    });
    expect(response.status).toBe(202);
    const { command } = await response.json<CommandResponse>();
    expect(command).toMatchObject({
      type: 'failed.delete-all',
      target: { kind: 'connection', id: 'default' },
      args: { filter: { queue, connection: 'default' }, limit: 100_000 },
    });
  });

  it('refuses a bad filter with 400', async () => {
    for (const json of [
      { filter: { colour: 'red' } },
      { filter: { failedAfter: 'yesterday' } },
      { limit: 0 },
      { filter: [] },
    ]) {
      const response = await call('/api/failed/retry', { method: 'POST', headers: adminHeaders(), json });
      expect(response.status, JSON.stringify(json)).toBe(400);
    }
  });
});

describe('bad input on the failed routes', () => {
  it('answers every fuzzed request with a 4xx and changes nothing', async () => {
    const id = idOf('failed-2');
    await fuzzRoutes({
      db: database.db,
      headers: adminHeaders(),
      tables: ['watchtower_commands', 'watchtower_audit_log'],
      watch: [
        {
          label: 'commands for the connection',
          query: sql`select id, status from watchtower_commands where target_id = ${connection} order by id`,
        },
      ],
      routes: [
        {
          method: 'GET',
          path: '/api/failed',
          query: {
            queue,
            connection,
            name: 'test-job',
            search: 'timeout',
            failedAfter: new Date(0).toISOString(),
            limit: '5',
            sort: 'newest',
          },
          freeTextQuery: ['queue', 'connection', 'name', 'search'],
        },
        {
          method: 'POST',
          path: `/api/failed/${id}/retry`,
          query: { wait: '0' },
          idTemplate: '/api/failed/{id}/retry',
          idKind: 'number',
        },
        {
          method: 'DELETE',
          path: `/api/failed/${id}`,
          query: { ttl: '30' },
          idTemplate: '/api/failed/{id}',
          idKind: 'number',
        },
        {
          method: 'POST',
          path: '/api/failed/retry',
          body: { filter: { connection, queue }, limit: 10 },
          query: { wait: '0' },
        },
        { method: 'POST', path: '/api/failed/delete', body: { filter: { connection, queue }, limit: 10 } },
      ],
    });
  });
});
