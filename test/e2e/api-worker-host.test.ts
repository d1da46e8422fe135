import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase } from '../../scripts/local-only/services';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';
import {
  type ApiInWorkerd,
  type ApiResponse,
  buildWorkerBundle,
  startApiInWorkerd,
  type WorkerBundle,
} from '../support/api-in-workerd';
import { type LocalStack, startLocalStack } from '../support/local-stack';
import {
  cliEnv,
  type HostProcess,
  isAlive,
  killAllHosts,
  scratchDir,
  startHost,
  uniqueName,
  waitFor,
  workersOf,
  writeConfig,
} from '../worker-host/harness';

/**
 * The whole command path, end to end: an HTTP call to the Cloudflare Worker (the bundle wrangler
 * would deploy, in workerd) puts a command on the bus; a real worker-host (the CLI's supervisor,
 * with real BullMQ worker processes) claims it, carries it out and acknowledges it; the API answers
 * with the confirmed result. Once per bus driver.
 *
 * Its own database and Redis db, so no other test file's host can claim these commands.
 */

const databaseUrl = (() => {
  const url = new URL(testEnv.databaseUrl);
  url.pathname = '/watchtower_test_e2e';
  return url.toString();
})();
const redisUrl = (() => {
  const url = new URL(testEnv.redisUrl);
  url.pathname = '/7';
  return url.toString();
})();
const adminToken = 'wt_e2e_admin_0123456789abcdef0123456789';

/** What ?wait took, per bus and route, printed at the end (information, not an assertion). */
const waitLatencies: string[] = [];
/** What a list showed right after a command was sent without waiting (information). */
const pendingSeen: string[] = [];
/** How long starting and stopping took (information). */
const phases: string[] = [];

let bundle: WorkerBundle;
let stack: LocalStack;

beforeAll(async () => {
  const started = performance.now();
  await ensureDatabase(databaseUrl);
  await migrateDatabase(databaseUrl);
  [bundle, stack] = await Promise.all([
    buildWorkerBundle(),
    startLocalStack({ relayPort: 0, upstashPort: 0, upstashToken: testEnv.upstashToken, redisUrl }),
  ]);
  phases.push(
    `database migrated, bundle built, stand-ins up in ${Math.round(performance.now() - started)} ms`,
  );
}, 60_000);

afterAll(async () => {
  await killAllHosts();
  await stack?.close();
  bundle?.cleanup();
  if (waitLatencies.length > 0) console.info(`?wait latencies:\n  ${waitLatencies.join('\n  ')}`);
  if (phases.length > 0) console.info(`phases:\n  ${phases.join('\n  ')}`);
  if (pendingSeen.length > 0) console.info(`right after sending:\n  ${pendingSeen.join('\n  ')}`);
});

describe.each(['database', 'redis'] as const)(
  'the command path through a real worker-host (%s bus)',
  (bus) => {
    const work = uniqueName('e2e-work');
    const flaky = uniqueName('e2e-flaky');
    const database = createNodeDatabase(databaseUrl, { max: 2 });
    const scratch = scratchDir();
    const queues: Queue[] = [];
    let host: HostProcess;
    let api: ApiInWorkerd;
    /** The one worker process on `work`: paused, resumed, then stopped. */
    let worker = '';
    /** The one worker process on `flaky`: runs the retried job, then stops while it runs another. */
    let flakyWorker = '';

    function bullQueue(name: string): Queue {
      const queue = new Queue(name, { connection: { url: redisUrl } });
      queue.on('error', () => undefined);
      queues.push(queue);
      return queue;
    }

    async function call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
      const response = await api.request(method, path, body);
      if (/[?&](wait|timeout)=/.test(path))
        waitLatencies.push(
          `${bus} ${method} ${path.split('?')[0]} → ${response.status}: ${Math.round(response.ms)} ms`,
        );
      return response;
    }

    async function workerInList(workerId: string) {
      const list = await call('GET', `/api/workers?host=${encodeURIComponent(host.hostId)}`);
      expect(list.status).toBe(200);
      return (list.body.workers as Array<Record<string, unknown>>).find((w) => w.workerId === workerId);
    }

    beforeAll(async () => {
      const configPath = writeConfig(
        scratch.dir,
        [
          { name: uniqueName('main'), queues: [work] },
          { name: uniqueName('flaky'), queues: [flaky], tries: 1 },
        ],
        {},
        { connections: { default: { url: redisUrl } } },
      );
      const env = cliEnv({
        DATABASE_URL: databaseUrl,
        WATCHTOWER_COMMAND_BUS: bus,
        WATCHTOWER_BUS_REDIS_URL: redisUrl,
        WATCHTOWER_ENCRYPTION_KEY: testEnv.encryptionKey,
      });
      const started = performance.now();
      // Assigned one by one, so that afterAll stops whichever started when the other failed.
      await Promise.all([
        startHost(configPath, database.db, { env, workers: 2 }).then((running) => {
          host = running;
        }),
        startApiInWorkerd(bundle, {
          DATABASE_URL: databaseUrl,
          WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${stack.relayPort}`,
          WATCHTOWER_COMMAND_BUS: bus,
          UPSTASH_REDIS_REST_URL: stack.upstashUrl,
          UPSTASH_REDIS_REST_TOKEN: testEnv.upstashToken,
          WATCHTOWER_ADMIN_TOKEN: adminToken,
          WATCHTOWER_ENCRYPTION_KEY: testEnv.encryptionKey,
        }).then((running) => {
          api = running;
        }),
      ]);
      phases.push(
        `${bus}: host with 2 worker processes and workerd up in ${Math.round(performance.now() - started)} ms`,
      );
    }, 60_000);

    afterAll(async () => {
      // Every process this host ran must be gone once it stopped: the host and its worker processes.
      const pids = host
        ? [host.pid, ...(await workersOf(database.db, host.hostId)).map((row) => row.pid)]
        : [];
      const stopping = performance.now();
      await Promise.all([host?.stop(20_000), api?.close(), ...queues.map((queue) => queue.close())]);
      phases.push(`${bus}: host stopped in ${Math.round(performance.now() - stopping)} ms`);
      await database.close();
      scratch.cleanup();
      const alive = (list: Array<number | null>) =>
        list.filter((pid): pid is number => pid !== null && isAlive(pid));
      await waitFor(
        () => alive(pids).length === 0,
        10_000,
        'the host and its worker processes to exit',
      ).catch((error: unknown) => {
        for (const pid of alive(pids)) process.kill(pid, 'SIGKILL');
        throw error;
      });
    }, 60_000);

    it("lists the host's worker processes with the status their heartbeats report", async () => {
      const rows = await workersOf(database.db, host.hostId);
      const list = await call('GET', `/api/workers?host=${encodeURIComponent(host.hostId)}`);
      expect(list.status).toBe(200);
      const listed = list.body.workers as Array<Record<string, unknown>>;
      expect(listed).toHaveLength(2);
      for (const row of rows) {
        expect(listed).toContainEqual(
          expect.objectContaining({
            workerId: row.worker_id,
            hostId: host.hostId,
            pid: row.pid,
            status: 'running',
          }),
        );
      }
      for (const listedWorker of listed) {
        expect(listedWorker).toMatchObject({ connection: 'default', pending: null });
        // From the heartbeats: when the last one was written, and its age by the database's clock.
        expect(Number.isNaN(Date.parse(String(listedWorker.lastHeartbeat)))).toBe(false);
        expect(listedWorker.heartbeatAgeSeconds).toEqual(expect.any(Number));
      }
      worker = String(listed.find((w) => w.queue === work)?.workerId);
      flakyWorker = String(listed.find((w) => w.queue === flaky)?.workerId);
    });

    /**
     * Sends a worker command without waiting and follows it: 202 with the command pending, the list
     * meanwhile showing the request beside the confirmed state (unless the host was faster), then
     * GET /api/commands/{id} and its wait form until the host's answer, and the list confirming it.
     */
    async function sendAndFollow(workerId: string, verb: string, label: string, confirmed: string) {
      const sent = await call('POST', `/api/workers/${workerId}/${verb}`);
      expect(sent.status, JSON.stringify(sent.body)).toBe(202);
      const id = sent.body.command.id as string;
      expect(sent.body.command).toMatchObject({ type: `worker.${verb}`, status: 'pending', result: null });
      expect(sent.headers.get('location')).toBe(`/api/commands/${id}`);

      // The list meanwhile: the confirmed state, and beside it the request while it is open. A
      // command still open after the list was read was open during it, so the list must show it.
      const meanwhile = await workerInList(workerId);
      const read = await call('GET', `/api/commands/${id}`);
      expect(read.status).toBe(200);
      expect(['pending', 'claimed', 'done']).toContain(read.body.command.status);
      if (read.body.command.status !== 'done') {
        expect(meanwhile?.pending).toMatchObject({ commandId: id, label, type: `worker.${verb}` });
      }
      if (meanwhile?.pending) {
        expect(meanwhile.pending).toMatchObject({ commandId: id, label, type: `worker.${verb}` });
        expect(meanwhile.status).not.toBe(confirmed);
      }
      pendingSeen.push(
        `${bus} ${verb}: list showed ${String(meanwhile?.status)} + pending ${meanwhile?.pending ? `"${label}"` : 'none'}; command then ${read.body.command.status}`,
      );

      const waited = await call('GET', `/api/commands/${id}/wait?timeout=20`);
      expect(waited.status, JSON.stringify(waited.body)).toBe(200);
      expect(waited.body.command).toMatchObject({
        id,
        status: 'done',
        claimedBy: host.hostId,
        result: { workerId, status: confirmed, confirmed: true },
      });
      expect((await call('GET', `/api/commands/${id}`)).body.command.status).toBe('done');
      await waitFor(
        async () => {
          const worker = await workerInList(workerId);
          return worker?.status === confirmed && worker.pending === null;
        },
        20_000,
        `the list to show the worker ${confirmed}`,
      );
    }

    it('pauses a worker without waiting: 202, then the command goes from pending to done', async () => {
      await sendAndFollow(worker, 'pause', 'pausing', 'paused');
    });

    it('resumes the paused worker, waiting for the answer', async () => {
      const response = await call('POST', `/api/workers/${worker}/resume?wait=10`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body.command).toMatchObject({
        type: 'worker.resume',
        status: 'done',
        result: { workerId: worker, status: 'running', confirmed: true },
      });
      await waitFor(
        async () => (await workerInList(worker))?.status === 'running',
        20_000,
        'the list to show the worker running',
      );
    });

    it('pauses and resumes a queue in Redis', async () => {
      const queue = bullQueue(work);
      const paused = await call('POST', `/api/queues/${work}/pause?wait=10`);
      expect(paused.status, JSON.stringify(paused.body)).toBe(200);
      expect(paused.body.command).toMatchObject({
        type: 'queue.pause',
        target: { kind: 'connection', id: 'default' },
        status: 'done',
        result: { connection: 'default', queue: work, paused: true },
      });
      expect(await queue.isPaused()).toBe(true);

      const resumed = await call('POST', `/api/queues/${work}/resume?wait=10`, {});
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
      expect(resumed.body.command).toMatchObject({ status: 'done', result: { queue: work, paused: false } });
      expect(await queue.isPaused()).toBe(false);
    });

    it('stops a worker and answers with the confirmed result when asked to wait', async () => {
      const response = await call('POST', `/api/workers/${worker}/stop?wait=10`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body.command).toMatchObject({
        type: 'worker.stop',
        target: { kind: 'worker', id: worker },
        status: 'done',
        claimedBy: host.hostId,
        result: { workerId: worker, status: 'stopped', confirmed: true },
      });
      await waitFor(
        async () => {
          const listed = await workerInList(worker);
          return listed?.status === 'stopped' && listed.pending === null;
        },
        20_000,
        'the list to show the worker stopped',
      );
    });

    it('retries a failed job: re-queued by the host, then completed by a worker', async () => {
      const queue = bullQueue(flaky);
      const job = await queue.add('flaky-job', { failFirst: true, label: bus });
      const jobId = String(job.id);
      const failedRow = await waitFor(
        async () => {
          const page = await call('GET', `/api/failed?queue=${flaky}`);
          return (page.body.jobs as Array<{ id: number; jobId: string }> | undefined)?.find(
            (row) => row.jobId === jobId,
          );
        },
        20_000,
        'the job to be listed as failed',
      );
      expect(await queue.getJobState(jobId)).toBe('failed');

      const retried = await call('POST', `/api/failed/${failedRow.id}/retry?wait=10`);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      expect(retried.body.command).toMatchObject({
        type: 'job.retry',
        status: 'done',
        args: { queue: flaky, jobId, connection: 'default' },
      });
      await waitFor(
        async () => (await queue.getJobState(jobId)) === 'completed',
        20_000,
        'the retried job to complete',
      );
      await waitFor(
        async () => {
          const page = await call('GET', `/api/jobs?queue=${flaky}&status=completed`);
          return (page.body.jobs as Array<{ jobId: string }> | undefined)?.some((row) => row.jobId === jobId);
        },
        20_000,
        'the API to show the job completed',
      );
    });

    it('shows "stopping" while the worker finishes its current job, then stopped, without waiting', async () => {
      // The queue's only worker: the job is certainly the one it must finish before it stops.
      const queue = bullQueue(flaky);
      const job = await queue.add('long-job', { ms: 3_000, label: 'finish before stopping' });
      const jobId = String(job.id);
      await waitFor(async () => (await queue.getJobState(jobId)) === 'active', 20_000, 'the job to start');
      await sendAndFollow(flakyWorker, 'stop', 'stopping', 'stopped');
      // Stopped after its job, not through it.
      expect(await queue.getJobState(jobId)).toBe('completed');
    });

    it('answers 404 for an unknown worker and a clear failure for a command the host refuses', async () => {
      const unknown = randomUUID();
      const missing = await call('POST', `/api/workers/${unknown}/stop?wait=10`);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: 'not_found' });
      expect((await call('GET', `/api/commands/${unknown}`)).status).toBe(404);
      expect((await call('GET', `/api/commands/${unknown}/wait?timeout=5`)).status).toBe(404);

      // The stopped worker still exists, but the host will not pause it: an answer, not a hang.
      const refused = await call('POST', `/api/workers/${worker}/pause?wait=10`);
      expect(refused.status, JSON.stringify(refused.body)).toBe(200);
      expect(refused.body.command).toMatchObject({ status: 'failed', claimedBy: host.hostId });
      expect(refused.body.command.error).toContain('stopped');
    });

    it('tests a connection the API sealed and lists the queues of another, through the host', async () => {
      // A Postgres connection: the Cloudflare Worker seals its URL, the host opens it with the same key.
      const postgres = await call('POST', '/api/connections', {
        kind: 'postgres',
        name: uniqueName('e2e-pg'),
        url: databaseUrl,
      });
      expect(postgres.status, JSON.stringify(postgres.body)).toBe(201);
      const tested = await call('POST', `/api/connections/${postgres.body.id}/test?wait=20`);
      expect(tested.status, JSON.stringify(tested.body)).toBe(200);
      expect(tested.body.command).toMatchObject({
        type: 'connection.test',
        status: 'done',
        claimedBy: host.hostId,
        result: { ok: true, authenticated: true, error: null, usedMemoryBytes: null, maxmemoryPolicy: null },
      });
      expect(tested.body.command.result.serverVersion).toMatch(/^\d+/);

      const prefix = uniqueName('e2e-pfx');
      const found = new Queue(`${prefix}-q`, { connection: { url: redisUrl }, prefix });
      found.on('error', () => undefined);
      queues.push(found);
      await found.add('job', {});
      const redis = new URL(redisUrl);
      const made = await call('POST', '/api/connections', {
        kind: 'redis',
        name: uniqueName('e2e-redis'),
        host: redis.hostname,
        port: Number(redis.port || 6379),
        db: Number(redis.pathname.slice(1) || 0),
        keyPrefix: prefix,
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const discovered = await call('POST', `/api/connections/${made.body.id}/discover?wait=20`, {
        hostId: host.hostId,
      });
      expect(discovered.status, JSON.stringify(discovered.body)).toBe(200);
      expect(discovered.body.command).toMatchObject({
        type: 'connection.discover',
        status: 'done',
        result: { queues: [`${prefix}-q`], truncated: false },
      });
      await call('DELETE', `/api/connections/${postgres.body.id}`);
      await call('DELETE', `/api/connections/${made.body.id}`);
    });

    it('restarts the stopped worker, and starts one more on its queue, with the confirmed results', async () => {
      const before = await workerInList(worker);
      const restarted = await call('POST', `/api/workers/${worker}/restart?wait=20`);
      expect(restarted.status, JSON.stringify(restarted.body)).toBe(200);
      expect(restarted.body.command).toMatchObject({
        type: 'worker.restart',
        status: 'done',
        result: { workerId: worker, status: 'running', confirmed: true },
      });
      expect(restarted.body.command.result.pid).not.toBe(before?.pid);

      const started = await call('POST', '/api/workers?wait=20', { queue: work });
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(started.body.command).toMatchObject({
        type: 'worker.start',
        status: 'done',
        claimedBy: host.hostId,
        result: { queue: work, status: 'running', confirmed: true },
      });
      const added = String(started.body.command.result.workerId);
      expect(added).not.toBe(worker);
      await waitFor(
        async () => (await workerInList(added))?.status === 'running',
        20_000,
        'the list to show the new worker running',
      );
    });
  },
);
