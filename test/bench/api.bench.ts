/**
 * `npm run bench:api`: the dashboard's read routes against 1,000,000 job rows, through the real
 * Cloudflare Worker.
 *
 * - Seeds its own database (`watchtower_bench_api`, created and migrated here) with server-side
 *   SQL (test/bench/api-seed.ts); a second run reuses the rows when the count matches.
 * - Bundles the Worker as `wrangler deploy --dry-run --outdir` does and runs that bundle in workerd
 *   (Miniflare), with Neon's serverless driver reaching Postgres through the local stand-ins: its HTTP
 *   path (what the read routes use) through scripts/local-only/neon-http.ts, which keeps pooled
 *   connections as Neon's proxy does, and its WebSocket path through scripts/local-only/neon-relay.ts;
 *   as in production but for the stand-ins, and the bootstrap admin token.
 * - After a warm-up, times each route over HTTP one request at a time, the routes interleaved so
 *   whatever else runs on the machine hurts them alike, in two rounds, and prints p50/p95/p99 and
 *   whether p95 meets the design's 25 ms. Beside it, the same query functions run straight on
 *   Postgres through pg (one kept connection: the query alone; a fresh connection per call: what a
 *   Worker request would also pay to connect if it opened its own pool, as it did before the read
 *   routes moved to Neon's HTTP path).
 *
 * Environment: WATCHTOWER_BENCH_API_DATABASE_URL (postgres://postgres@127.0.0.1:5432/watchtower_bench_api),
 * API_BENCH_JOBS (1000000), API_BENCH_RESEED=1 (seed again even if the rows are there),
 * API_BENCH_SAMPLES (100 per route per round), API_BENCH_ROUNDS (2), API_BENCH_WARMUP (15).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { Miniflare } from 'miniflare';
import pg from 'pg';
import type { Database } from '../../core/db/database';
import { migrateDatabase } from '../../drizzle/migrate';
import * as schema from '../../drizzle/schema';
import {
  ROLLUP_CATCH_UP_PER_RUN,
  ROLLUP_CATCH_UP_WINDOW_HOURS,
} from '../../functions/housekeeping/rollup-hours';
import { rollupMetrics } from '../../functions/housekeeping/rollup-metrics';
import type { HousekeepingContext } from '../../functions/housekeeping/step';
import { decodeJobCursor } from '../../functions/queries/job-cursor';
import { findJob } from '../../functions/queries/job-detail';
import { type JobListFilter, listJobs } from '../../functions/queries/list-jobs';
import { metricsWithStats } from '../../functions/queries/metrics';
import { pollSnapshot } from '../../functions/queries/poll';
import { listQueues } from '../../functions/queries/queues';
import { buildWeb } from '../../scripts/build-web';
import { startNeonHttp } from '../../scripts/local-only/neon-http';
import { startNeonRelay } from '../../scripts/local-only/neon-relay';
import { ensureDatabase, ensurePostgres } from '../../scripts/local-only/services';
import { refreshHeartbeats, seedBenchData } from './api-seed';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_API_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower_bench_api';
const JOBS = Number(process.env.API_BENCH_JOBS ?? 1_000_000);
const RESEED = process.env.API_BENCH_RESEED === '1';
const SAMPLES = Number(process.env.API_BENCH_SAMPLES ?? 100);
const ROUNDS = Number(process.env.API_BENCH_ROUNDS ?? 2);
const WARMUP = Number(process.env.API_BENCH_WARMUP ?? 15);
const TARGET_P95_MS = 25;
// A seed this old has no recent rollups or jobs left for the poll and metrics routes: seed again.
const MAX_SEED_AGE_HOURS = 24;
const ADMIN_TOKEN = `wt_bench_admin_${crypto.randomUUID()}`;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Route {
  label: string;
  path: string;
  headers?: () => Record<string, string>;
  /** 200 unless said otherwise. */
  status?: number;
  /** A 200 where `status` was expected is fine too (the poll's ETag moves with the minute): it is passed the response. */
  otherwise?: (response: Response) => void;
  /** The same query functions the route calls, on a pg connection. */
  direct: (db: Database) => Promise<unknown>;
}

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99) };
};

const ms = (value: number) => value.toFixed(1).padStart(6);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

function log(line: string): void {
  console.log(line);
}

function jobFilter(filter: Partial<JobListFilter>): JobListFilter {
  return { sort: 'newest', limit: 50, ...filter };
}

async function prepareDatabase(): Promise<void> {
  await ensurePostgres(DATABASE_URL);
  await ensureDatabase(DATABASE_URL);
  const { applied } = await migrateDatabase(DATABASE_URL);
  if (applied > 0) log(`migrations applied: ${applied}`);
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string; age_hours: number | null }>(
      `select count(*) as n, extract(epoch from now() - max(queued_at)) / 3600 as age_hours from watchtower_jobs`,
    );
    const count = Number(rows[0]?.n ?? 0);
    const age = rows[0]?.age_hours ?? null;
    const stale = age !== null && age > MAX_SEED_AGE_HOURS;
    if (!RESEED && count === JOBS && !stale) {
      log(
        `seed: reusing ${count.toLocaleString('en-US')} job rows (newest queued ${Number(age).toFixed(1)} h ago)`,
      );
      // A migration that rewrote the table (a new stored column) cleared its visibility map:
      // index-only scans would fetch every row until autovacuum came by.
      if (applied > 0) await client.query('vacuum analyze');
      await refreshHeartbeats(client);
      await rollUp(client);
      return;
    }
    const why = RESEED
      ? 'API_BENCH_RESEED=1'
      : stale
        ? `seed is ${Number(age).toFixed(0)} h old`
        : `found ${count} rows`;
    log(`seed: writing ${JOBS.toLocaleString('en-US')} job rows (${why}); load ${load()}`);
    const started = performance.now();
    const report = await seedBenchData(client, JOBS, log);
    log(
      `seed: ${report.jobs.toLocaleString('en-US')} jobs, ${report.attempts.toLocaleString('en-US')} attempts, ` +
        `${report.metrics.toLocaleString('en-US')} metrics rows in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `load ${load()}`,
    );
    await rollUp(client);
  } finally {
    await client.end();
  }
}

/**
 * The hourly rollups the cron keeps in production (GET /api/metrics reads its 24 h from them). One
 * cron run catches up a bounded number of hours, so as many runs as a cron would need after a
 * two-day outage.
 */
async function rollUp(client: pg.Client): Promise<void> {
  const db = drizzle(client, { schema }) as unknown as Database;
  // The rollup reads only the database and the retention variables (none set: the defaults).
  const context = { db, env: {} } as unknown as HousekeepingContext;
  const started = performance.now();
  const runs = Math.ceil(ROLLUP_CATCH_UP_WINDOW_HOURS / ROLLUP_CATCH_UP_PER_RUN);
  for (let run = 0; run < runs; run++) await rollupMetrics.run(context);
  log(`metrics rollup: ${runs} cron runs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Values the routes need: a failed job with its attempts, a job id, a data term. */
async function pickTargets(client: pg.Client) {
  const failed = await client.query<{ id: string; job_id: string }>(
    `select id, job_id from watchtower_jobs where status = 'failed' and attempts >= 3
     order by queued_at desc nulls last, id desc nulls last limit 1 offset 500`,
  );
  const jobId = await client.query<{ job_id: string }>(
    `select job_id from watchtower_jobs where job_id like '7%' and length(job_id) = 6 order by id limit 1 offset 4321`,
  );
  const email = await client.query<{ email: string }>(
    `select payload->>'email' as email from watchtower_jobs where payload ? 'email' order by id desc limit 1 offset 20000`,
  );
  // The start of an order id, as a prefix search ("ord_4cf*"): three hex digits, 1 in 4,096 order ids.
  const order = await client.query<{ order_id: string }>(
    `select payload->>'orderId' as order_id from watchtower_jobs where payload ? 'orderId' order by id limit 1 offset 777`,
  );
  const row = failed.rows[0];
  if (!row) throw new Error('the seed holds no failed job with 3 attempts');
  return {
    failedId: Number(row.id),
    jobId: jobId.rows[0]?.job_id ?? row.job_id,
    email: email.rows[0]?.email ?? 'user04242@example.com',
    orderPrefix: `${(order.rows[0]?.order_id ?? 'ord_4cf07bf5').slice(0, 'ord_'.length + 3)}*`,
  };
}

async function bundleWorker(): Promise<{ dir: string; script: string; compatibilityDate: string }> {
  // wrangler needs the assets folder to exist; build it only when missing (others may be using it).
  if (!existsSync(join(ROOT, 'web/dist/index.html'))) await buildWeb();
  const dir = mkdtempSync(join(tmpdir(), 'watchtower-api-bench-'));
  execFileSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', dir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    stdio: 'pipe',
  });
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!compatibilityDate) throw new Error('wrangler.toml has no compatibility_date');
  return { dir, script: join(dir, 'index.js'), compatibilityDate };
}

async function timeRequest(base: URL, route: Route): Promise<number> {
  const started = performance.now();
  const response = await fetch(new URL(route.path, base), {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...route.headers?.() },
  });
  await response.arrayBuffer();
  const elapsed = performance.now() - started;
  const expected = route.status ?? 200;
  if (response.status === 200 && route.otherwise) {
    route.otherwise(response);
  } else if (response.status !== expected) {
    throw new Error(`${route.label}: GET ${route.path} answered ${response.status}, expected ${expected}`);
  }
  return elapsed;
}

async function timeDirect(db: Database, route: Route): Promise<number> {
  const started = performance.now();
  await route.direct(db);
  return performance.now() - started;
}

/** One kept pg connection per call vs a fresh one: the second shows the per-request connect cost. */
async function timeFreshConnection(route: Route): Promise<number> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await route.direct(drizzle(client, { schema }));
  } finally {
    await client.end();
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const began = performance.now();
  log(`API benchmark: ${JOBS.toLocaleString('en-US')} job rows; load averages at start ${load()}`);
  await prepareDatabase();

  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const db: Database = drizzle(client, { schema });
  const targets = await pickTargets(client);

  const bundle = await bundleWorker();
  const relay = await startNeonRelay({ port: 0 });
  const neonHttp = await startNeonHttp({ port: 0 });
  const mf = new Miniflare({
    modules: true,
    scriptPath: bundle.script,
    modulesRoot: bundle.dir,
    compatibilityDate: bundle.compatibilityDate,
    host: '127.0.0.1',
    port: 0,
    bindings: {
      DATABASE_URL,
      WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${relay.port}`,
      WATCHTOWER_LOCAL_NEON_HTTP: `127.0.0.1:${neonHttp.port}`,
      WATCHTOWER_ADMIN_TOKEN: ADMIN_TOKEN,
      WATCHTOWER_COMMAND_BUS: 'database',
    },
  });
  try {
    const base = await mf.ready;

    // The poll's ETag, for the 304 path; the deep page's cursor, 50 pages in.
    const first = await fetch(new URL('/api/poll', base), {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await first.arrayBuffer();
    let etag = first.headers.get('etag');
    // The poll's last-hour figures slide with the minute, so its body (and ETag) changes now and then.
    let etagChanges = 0;
    if (first.status !== 200 || !etag)
      throw new Error(`GET /api/poll answered ${first.status} without an ETag`);
    let cursor = '';
    for (let page = 1; page <= 50; page++) {
      const response = await fetch(new URL(`/api/jobs${cursor ? `?cursor=${cursor}` : ''}`, base), {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const body = (await response.json()) as { nextCursor: string | null };
      if (!body.nextCursor) throw new Error(`the jobs list ended after ${page} pages`);
      cursor = body.nextCursor;
    }
    const deepCursor = decodeJobCursor(cursor);

    const routes: Route[] = [
      {
        label: 'GET /api/poll',
        path: '/api/poll',
        direct: (d) => pollSnapshot(d, { recentJobs: 10, workers: { limit: 100 }, openCommands: true }),
      },
      {
        label: 'GET /api/poll (If-None-Match: 304)',
        path: '/api/poll',
        headers: () => ({ 'if-none-match': etag ?? '' }),
        status: 304,
        otherwise: (response) => {
          etag = response.headers.get('etag');
          etagChanges++;
        },
        direct: (d) => pollSnapshot(d, { recentJobs: 10, workers: { limit: 100 }, openCommands: true }),
      },
      { label: 'jobs: first page', path: '/api/jobs', direct: (d) => listJobs(d, jobFilter({})) },
      {
        label: 'jobs: page 51 (cursor)',
        path: `/api/jobs?cursor=${cursor}`,
        direct: (d) => listJobs(d, jobFilter({ cursor: deepCursor })),
      },
      {
        label: 'jobs: status=failed&queue=billing',
        path: '/api/jobs?status=failed&queue=billing',
        direct: (d) => listJobs(d, jobFilter({ status: 'failed', queue: 'billing' })),
      },
      {
        label: 'jobs: queue=webhooks',
        path: '/api/jobs?queue=webhooks',
        direct: (d) => listJobs(d, jobFilter({ queue: 'webhooks' })),
      },
      {
        label: 'failed: first page',
        path: '/api/failed',
        direct: (d) => listJobs(d, jobFilter({ status: 'failed' })),
      },
      {
        label: 'failed: search=ECONNREFUSED',
        path: '/api/failed?search=ECONNREFUSED',
        direct: (d) => listJobs(d, jobFilter({ status: 'failed', search: 'ECONNREFUSED' })),
      },
      {
        label: `jobs: q=${targets.email} (data)`,
        path: `/api/jobs?q=${encodeURIComponent(targets.email)}`,
        direct: (d) => listJobs(d, jobFilter({ search: targets.email })),
      },
      {
        label: 'jobs: q=card_declined (exception)',
        path: '/api/jobs?q=card_declined',
        direct: (d) => listJobs(d, jobFilter({ search: 'card_declined' })),
      },
      {
        label: `jobs: q=${targets.jobId} (job id)`,
        path: `/api/jobs?q=${targets.jobId}`,
        direct: (d) => listJobs(d, jobFilter({ search: targets.jobId })),
      },
      {
        label: 'jobs: q=@example.com (data, common)',
        path: '/api/jobs?q=%40example.com',
        direct: (d) => listJobs(d, jobFilter({ search: '@example.com' })),
      },
      {
        label: `jobs: q=${targets.orderPrefix} (prefix)`,
        path: `/api/jobs?q=${encodeURIComponent(targets.orderPrefix)}`,
        direct: (d) => listJobs(d, jobFilter({ search: targets.orderPrefix })),
      },
      {
        label: 'job detail (failed, 3+ attempts)',
        path: `/api/jobs/${targets.failedId}`,
        direct: (d) => findJob(d, { id: targets.failedId }),
      },
      { label: 'GET /api/metrics', path: '/api/metrics', direct: (d) => metricsWithStats(d) },
      { label: 'GET /api/queues', path: '/api/queues', direct: (d) => listQueues(d) },
    ];

    log(`warm-up: ${WARMUP} requests per route; load ${load()}`);
    for (let i = 0; i < WARMUP; i++) {
      for (const route of routes) {
        await timeRequest(base, route);
        await timeDirect(db, route);
      }
    }

    const freshSamples = Math.max(20, Math.round(SAMPLES / 5));
    for (let round = 1; round <= ROUNDS; round++) {
      const loadBefore = load();
      const worker = routes.map(() => [] as number[]);
      const direct = routes.map(() => [] as number[]);
      const fresh = routes.map(() => [] as number[]);
      const started = performance.now();
      for (let i = 0; i < SAMPLES; i++) {
        for (const [k, route] of routes.entries()) {
          worker[k]?.push(await timeRequest(base, route));
          direct[k]?.push(await timeDirect(db, route));
          if (i < freshSamples) fresh[k]?.push(await timeFreshConnection(route));
        }
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      log('');
      log(
        `round ${round}/${ROUNDS}: ${SAMPLES} requests per route (${seconds} s); load averages (1/5/15 min) ` +
          `before ${loadBefore}, after ${load()}`,
      );
      printTable(routes, worker, direct, fresh);
      log(`the poll's ETag changed ${etagChanges} time(s) so far (those requests answered 200, not 304)`);
    }
  } finally {
    await mf.dispose();
    await relay.close();
    await neonHttp.close();
    await client.end();
    rmSync(bundle.dir, { recursive: true, force: true });
  }
  log(`\ntotal ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

function printTable(routes: Route[], worker: number[][], direct: number[][], fresh: number[][]): void {
  const width = Math.max(...routes.map((route) => route.label.length));
  log(
    `${'route'.padEnd(width)} |      n |    p50    p95    p99 | p95<=${TARGET_P95_MS} | pg p50    p95 | pg+connect p50    p95`,
  );
  log('-'.repeat(width + 88));
  for (const [k, route] of routes.entries()) {
    const w = stats(worker[k] ?? []);
    const d = stats(direct[k] ?? []);
    const f = stats(fresh[k] ?? []);
    const meets = w.p95 <= TARGET_P95_MS ? '  yes  ' : '  NO   ';
    log(
      `${route.label.padEnd(width)} | ${String(w.n).padStart(6)} | ${ms(w.p50)} ${ms(w.p95)} ${ms(w.p99)} | ${meets} |` +
        ` ${ms(d.p50)} ${ms(d.p95)} |         ${ms(f.p50)} ${ms(f.p95)}`,
    );
  }
  log(
    'times in ms, from the client: workerd (Miniflare, the wrangler bundle) + Neon driver (HTTP) + local /sql stand-in + Postgres;',
  );
  log('pg: the same query functions on one kept pg connection; pg+connect: with a new connection per call.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
