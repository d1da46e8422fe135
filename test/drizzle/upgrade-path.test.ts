import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { migrateDatabase } from '../../drizzle/migrate';
import { findHost } from '../../functions/queries/hosts';
import { findJob } from '../../functions/queries/job-detail';
import { listJobs } from '../../functions/queries/list-jobs';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { journalTags, migrateThrough, scratchDatabase } from '../support/migrations';

/**
 * The upgrade path, step one: `npm run db:migrate` of this release on a database that the previous
 * release created and wrote to. What that release left (jobs with their attempts, a host and its
 * worker process, commands waiting on the database bus, a key of the put/get contract) must read
 * right through this release's code: the API's queries and the command bus.
 *
 * "The previous release" is the committed journal without its newest PREVIOUS_RELEASE_BEHIND
 * migrations (today 0019 to 0021: the per-target claim function, attempts whose start is unknown,
 * the audit log's actor index). The rows below are written as that schema takes them, with the
 * columns every release since job timestamps (0018) has had.
 */
const PREVIOUS_RELEASE_BEHIND = 3;

describe('upgrading a database the previous release wrote', () => {
  const database = scratchDatabase('watchtower_upgrade');
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await database.drop();
  });

  it('migrates, and this release reads its jobs, host and pending commands', async () => {
    const previous = await migrateThrough(database.url, { allBut: PREVIOUS_RELEASE_BEHIND });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    cleanups.push(() => client.end());

    // --- What the previous release wrote. ---
    const hostId = 'old-host-1234-abcd';
    const workerId = randomUUID();
    const queuedMs = Date.now() - 60_000;
    await client.query(
      `insert into watchtower_hosts (host_id, hostname, pid, version, status, connections, supervisors)
       values ($1, 'vm-1', 1234, '0.0.9', 'running', '["default"]', '[{"name": "mail-sup", "processes": 1}]')`,
      [hostId],
    );
    await client.query(
      `insert into watchtower_workers (worker_id, host_id, supervisor, queue, pid, status)
       values ($1, $2, 'mail-sup', 'mail', 1240, 'running')`,
      [workerId, hostId],
    );
    await client.query(
      `insert into watchtower_jobs (job_id, job_timestamp, queue, name, status, attempts, max_attempts, worker_id,
                                    payload, exception, queued_at, started_at, completed_at, run_ms)
       values ('1', $1::bigint, 'mail', 'welcome', 'completed', 1, 3, $2, '{"to": "ada@example.com"}', null,
               to_timestamp($1::bigint / 1000.0), to_timestamp($1::bigint / 1000.0 + 1), to_timestamp($1::bigint / 1000.0 + 2), 1000),
              ('2', $1::bigint + 1, 'mail', 'invoice', 'failed', 2, 2, $2, '{"invoice": 42}', 'Error: smtp refused',
               to_timestamp($1::bigint / 1000.0), to_timestamp($1::bigint / 1000.0 + 1), to_timestamp($1::bigint / 1000.0 + 3), 500)`,
      [queuedMs, workerId],
    );
    await client.query(
      `insert into watchtower_job_attempts (job_id, job_timestamp, queue, attempt, status, worker_id, host_id,
                                            started_at, finished_at, run_ms, error_message)
       values ('2', $1::bigint + 1, 'mail', 1, 'failed', $2, $3, to_timestamp($1::bigint / 1000.0 + 1),
               to_timestamp($1::bigint / 1000.0 + 1.5), 500, 'smtp timeout'),
              ('2', $1::bigint + 1, 'mail', 2, 'failed', $2, $3, to_timestamp($1::bigint / 1000.0 + 2),
               to_timestamp($1::bigint / 1000.0 + 3), 500, 'smtp refused')`,
      [queuedMs, workerId, hostId],
    );
    // Commands on the database bus: two waiting for the supervisor (in order), one a host claimed
    // and died holding (its lease is over), one whose TTL ran out while nobody claimed it.
    const first = randomUUID();
    const second = randomUUID();
    const orphaned = randomUUID();
    const overdue = randomUUID();
    await client.query(
      `insert into watchtower_commands (id, target_kind, target_id, type, args, created_by, expires_at)
       values ($1, 'supervisor', 'mail-sup', 'worker.start', '{"queue": "mail"}', 'token:ops', now() + interval '10 minutes')`,
      [first],
    );
    await client.query(
      `insert into watchtower_commands (id, target_kind, target_id, type, args, created_by, expires_at)
       values ($1, 'supervisor', 'mail-sup', 'supervisor.scale', '{"processes": 2}', 'token:ops', now() + interval '10 minutes')`,
      [second],
    );
    await client.query(
      `insert into watchtower_commands (id, target_kind, target_id, type, args, status, expires_at, claimed_by,
                                        claimed_at, claim_token, lease_until, deliveries)
       values ($1, 'host', $2, 'host.restart', '{}', 'claimed', now() + interval '10 minutes', $2,
               now() - interval '2 minutes', gen_random_uuid(), now() - interval '1 minute', 1)`,
      [orphaned, hostId],
    );
    await client.query(
      `insert into watchtower_commands (id, target_kind, target_id, type, args, created_at, expires_at)
       values ($1, 'supervisor', 'mail-sup', 'worker.stop', '{}', now() - interval '10 minutes', now() - interval '5 minutes')`,
      [overdue],
    );
    await client.query(
      `insert into watchtower_bus_entries (key, value, expires_at)
       values ('watchtower:terminate', '1796000000', now() + interval '10 minutes')`,
    );

    // --- This release's migrations: exactly the ones the previous release lacked. ---
    const { applied } = await migrateDatabase(database.url);
    expect(applied).toBe(journalTags().length - previous.length);
    expect(applied).toBe(PREVIOUS_RELEASE_BEHIND);

    // A host of the previous release keeps running until it is restarted (docs/deploy.md: migrate,
    // then the Cloudflare Worker, then the hosts): its claim statement, as that release sent it,
    // still works on the migrated schema. It asks for another target, so it takes nothing here.
    const oldClaim = await client.query(
      'select id from watchtower_claim_commands($1::jsonb, $2, $3::double precision, $4::integer)',
      [JSON.stringify([{ kind: 'worker', id: randomUUID() }]), 'old-host-5678', 30, 100],
    );
    expect(oldClaim.rows).toEqual([]);

    // --- This release reads it all. ---
    const node = createNodeDatabase(database.url, { max: 2 });
    cleanups.push(() => node.close());
    const { db } = node;

    const failed = await findJob(db, { connection: 'default', queue: 'mail', jobId: '2' });
    expect(failed).toMatchObject({
      jobId: '2',
      name: 'invoice',
      status: 'failed',
      attempts: 2,
      exception: 'Error: smtp refused',
      hostId,
      payload: { invoice: 42 },
    });
    expect(failed?.attemptHistory.map((a) => [a.attempt, a.status, a.errorMessage])).toEqual([
      [1, 'failed', 'smtp timeout'],
      [2, 'failed', 'smtp refused'],
    ]);
    const completed = await findJob(db, { connection: 'default', queue: 'mail', jobId: '1' });
    // Its one run lives in the job row (no attempt row): shown as the attempt it was.
    expect(completed?.attemptHistory).toMatchObject([{ attempt: 1, status: 'completed', hostId }]);
    const page = await listJobs(db, { queue: 'mail', sort: 'newest', limit: 10 });
    expect(page.jobs.map((job) => [job.jobId, job.status])).toEqual([
      ['2', 'failed'],
      ['1', 'completed'],
    ]);
    const searched = await listJobs(db, { search: 'invoice', sort: 'newest', limit: 10 });
    expect(searched.jobs.map((job) => job.jobId)).toEqual(['2']);

    expect(await findHost(db, hostId)).toMatchObject({
      hostId,
      version: '0.0.9',
      status: 'running',
      connections: ['default'],
      workers: { running: 1 },
    });

    const bus = new DatabaseCommandBus(db);
    expect(await bus.get<number>('watchtower:terminate')).toBe(1_796_000_000);
    expect((await bus.find(overdue))?.status).toBe('expired');
    // The new host claims as this release does: one command per target at a time, in order.
    const targets = [
      { kind: 'host' as const, id: hostId },
      { kind: 'supervisor' as const, id: 'mail-sup' },
    ];
    const claimed = await bus.claim({ claimer: 'new-host', targets, perTarget: 1 });
    // In the order they were sent; the orphaned one handed out again (its second delivery).
    expect(claimed.map((c) => [c.id, c.type, c.deliveries])).toEqual([
      [first, 'worker.start', 1],
      [orphaned, 'host.restart', 2],
    ]);
    expect(claimed.find((c) => c.id === first)?.args).toEqual({ queue: 'mail' });
    for (const command of claimed) {
      expect((await bus.acknowledge(command.id, command.claimToken, { ok: true })).status).toBe('done');
    }
    const next = await bus.claim({ claimer: 'new-host', targets, perTarget: 1 });
    expect(next.map((c) => [c.id, c.type])).toEqual([[second, 'supervisor.scale']]);
    expect((await bus.find(overdue))?.status).toBe('expired');
  });
});
