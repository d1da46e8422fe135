/**
 * `npx tsx test/bench/api-worst-shapes.ts [filter] [--explain]`: the most costly filter and search
 * shapes a viewer can send to the jobs and failed lists, timed on the API benchmark's 1,000,000
 * job rows (seed them with `npm run bench:api` first, or point WATCHTOWER_BENCH_API_DATABASE_URL
 * at a database seeded by test/bench/api-seed.ts).
 *
 * Each shape runs through the routes' own query function (listJobs) on one pg connection under
 * the API's statement timeout (WATCHTOWER_STATEMENT_TIMEOUT_MS, default 5000 ms, set with SET as
 * the Worker's SET LOCAL does), once to warm the cache and then RUNS times; the table shows the
 * fastest and slowest run, the rows, and whether Postgres cancelled it (the API answers 503
 * `unavailable` then). `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of every statement a shape
 * sends, as test/bench/api-explain.ts does.
 *
 * `--worker` sends the same shapes as requests to the real Worker bundle in workerd (Miniflare,
 * Neon's driver through the local stand-ins, as `npm run bench:api` does) with
 * WATCHTOWER_STATEMENT_TIMEOUT_MS passed on, and shows each answer's status and time: a shape
 * past the timeout answers 503 `unavailable`, and the next shape is served as usual.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Database } from '../../core/db/database';
import { isStatementCancelled } from '../../core/db/statement-timeout';
import * as schema from '../../drizzle/schema';
import { countFailed } from '../../functions/queries/failed-count';
import { type JobListFilter, listJobs } from '../../functions/queries/list-jobs';
import { startNeonRelay } from '../../scripts/local-only/neon-relay';
import { buildWorkerBundle, startApiInWorkerd } from '../support/api-in-workerd';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_API_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower_bench_api';
const TIMEOUT_MS = Number(process.env.WATCHTOWER_STATEMENT_TIMEOUT_MS ?? 5000);
const RUNS = Number(process.env.API_WORST_RUNS ?? 3);

const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The shapes: GET /api/jobs; with status 'failed', GET /api/failed; labelled "count:", GET
 * /api/failed/count (what a bulk retry or delete would touch).
 */
function shapes(now: number): Array<[string, Partial<JobListFilter>]> {
  const midweek = now - 3.5 * 24 * HOUR;
  return [
    ['baseline: first page', {}],
    ['baseline: oldest first', { sort: 'oldest' }],
    ['connection that does not exist', { connection: 'no-such-connection' }],
    ['connection that does not exist, oldest first', { connection: 'no-such-connection', sort: 'oldest' }],
    ['name that does not exist', { name: 'NoSuchJobName' }],
    ['name that does not exist, oldest first', { name: 'NoSuchJobName', sort: 'oldest' }],
    ['name not in the queue', { queue: 'exports', name: 'SendWelcomeEmail' }],
    ['name not in the queue, oldest first', { queue: 'exports', name: 'SendWelcomeEmail', sort: 'oldest' }],
    ['queue that does not exist', { queue: 'no-such-queue' }],
    ['name of another connection', { connection: 'analytics', name: 'SendWelcomeEmail' }],
    ['common name, rare status, oldest', { name: 'SendInvoiceEmail', status: 'processing', sort: 'oldest' }],
    ['1-minute time range, midweek', { from: iso(midweek), to: iso(midweek + 60_000) }],
    ['empty time range (from = to)', { from: iso(midweek), to: iso(midweek) }],
    ['range before all rows, oldest', { to: iso(now - 30 * 24 * HOUR), sort: 'oldest' }],
    [
      'range + name absent + connection, oldest',
      { from: iso(now - 6 * 24 * HOUR), connection: 'default', name: 'NoSuchJobName', sort: 'oldest' },
    ],
    ['failed: failedAfter in the future', { status: 'failed', failedAfter: iso(now + 24 * HOUR) }],
    [
      'failed: failedBefore before all, oldest',
      { status: 'failed', failedBefore: iso(now - 30 * 24 * HOUR), sort: 'oldest' },
    ],
    [
      'failed: queue + name absent + failedAfter',
      { status: 'failed', queue: 'emails', name: 'NoSuch', failedAfter: iso(now) },
    ],
    ['search: rare prefix', { search: 'ord_4cf*' }],
    ['search: common prefix', { search: 'ord*' }],
    ['search: common prefix + absent word', { search: 'ord* zzqqxx' }],
    ['search: two common words, rare together', { search: 'SendWelcomeEmail card_declined' }],
    ['search: absent word', { search: 'zzqqxx' }],
    ['search: absent prefix', { search: 'zzq*' }],
    ['search: many common prefixes', { search: 'ord* use* exa* com* sen* err* tim* htt* emai* web*' }],
    ['search: common word, rare status, oldest', { search: 'example', status: 'processing', sort: 'oldest' }],
    ['search: common word + queue, oldest', { search: 'ECONNREFUSED', queue: 'reports', sort: 'oldest' }],
    [
      'search: common prefix + connection absent',
      { search: 'ord*', connection: 'no-such-connection', sort: 'oldest' },
    ],
    [
      'search: 200 characters of prefixes',
      {
        search: Array.from({ length: 50 }, (_, i) => `a${i}*`)
          .join(' ')
          .slice(0, 200),
      },
    ],
    ['count: failedAfter in the future', { status: 'failed', failedAfter: iso(now + 24 * HOUR) }],
    [
      'count: name of another connection',
      { status: 'failed', connection: 'analytics', name: 'SendWelcomeEmail' },
    ],
    ['count: common prefix + absent word', { status: 'failed', search: 'ord* zzqqxx' }],
    [
      'count: many common prefixes',
      { status: 'failed', search: 'ord* use* exa* com* sen* err* tim* htt* emai* web*' },
    ],
  ];
}

interface Outcome {
  fastest: number;
  slowest: number;
  rows: number;
  cancelled: boolean;
}

async function timeShape(db: Database, label: string, filter: JobListFilter): Promise<Outcome> {
  const times: number[] = [];
  let rows = 0;
  for (let run = 0; run <= RUNS; run++) {
    const started = performance.now();
    try {
      rows = await runShape(db, label, filter);
    } catch (error) {
      if (!isStatementCancelled(error)) throw error;
      return {
        fastest: performance.now() - started,
        slowest: performance.now() - started,
        rows: 0,
        cancelled: true,
      };
    }
    if (run > 0) times.push(performance.now() - started);
  }
  return { fastest: Math.min(...times), slowest: Math.max(...times), rows, cancelled: false };
}

/** The request a viewer would send for a shape: GET /api/failed for failed-only shapes, else GET /api/jobs. */
function pathOf(label: string, shape: Partial<JobListFilter>): string {
  const count = isCount(label);
  const failed = shape.status === 'failed';
  const query = new URLSearchParams();
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) query.set(name, value);
  };
  if (!failed) put('status', shape.status);
  put('queue', shape.queue);
  put('connection', shape.connection);
  put('name', shape.name);
  put('from', shape.from);
  put('to', shape.to);
  put('failedAfter', shape.failedAfter);
  put('failedBefore', shape.failedBefore);
  put(failed ? 'search' : 'q', shape.search);
  put('sort', shape.sort);
  return `/api/${count ? 'failed/count' : failed ? 'failed' : 'jobs'}?${query}`;
}

function isCount(label: string): boolean {
  return label.startsWith('count:');
}

/** What the route answers, in rows: a page's jobs, or the count. */
async function runShape(db: Database, label: string, filter: JobListFilter): Promise<number> {
  if (!isCount(label)) return (await listJobs(db, filter)).jobs.length;
  return (await countFailed(db, filter)).count;
}

async function throughWorker(now: number, filterText: string | undefined): Promise<void> {
  const bundle = await buildWorkerBundle();
  const relay = await startNeonRelay({ port: 0 });
  const api = await startApiInWorkerd(bundle, {
    DATABASE_URL,
    WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${relay.port}`,
    WATCHTOWER_ADMIN_TOKEN: `wt_worst_shapes_${crypto.randomUUID()}`,
    WATCHTOWER_STATEMENT_TIMEOUT_MS: String(TIMEOUT_MS),
  });
  try {
    console.log(`through the Worker in workerd, WATCHTOWER_STATEMENT_TIMEOUT_MS=${TIMEOUT_MS}`);
    await api.request('GET', '/api/jobs?limit=1');
    for (const [label, shape] of shapes(now)) {
      if (filterText && !label.includes(filterText)) continue;
      const answer = await api.request('GET', pathOf(label, shape));
      const code =
        answer.status !== 200
          ? answer.body?.error?.code
          : isCount(label)
            ? `count ${answer.body.count}`
            : `${answer.body.jobs.length} rows`;
      console.log(
        `${label.padEnd(48)} ${String(answer.status)} ${answer.ms.toFixed(1).padStart(8)}ms  ${code}`,
      );
    }
  } finally {
    await api.close();
    await relay.close();
    bundle.cleanup();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const explain = args.includes('--explain');
  const worker = args.includes('--worker');
  const filterText = args.find((arg) => !arg.startsWith('--'));
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`set statement_timeout = ${Math.trunc(TIMEOUT_MS)}`);
  const { rows } = await client.query<{ n: string; newest: Date }>(
    'select count(*) as n, max(queued_at) as newest from watchtower_jobs',
  );
  const count = Number(rows[0]?.n ?? 0);
  console.log(
    `${count.toLocaleString('en-US')} job rows; statement_timeout ${TIMEOUT_MS} ms; ${RUNS} runs after a warm-up`,
  );
  const plans: string[][] = [];
  const explaining = {
    query: async (config: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
      const text = typeof config === 'string' ? config : config.text;
      const params = (typeof config === 'string' ? values : (config.values ?? values)) as unknown[];
      if (explain) {
        const result = await client.query<{ 'QUERY PLAN': string }>(
          `explain (analyze, buffers) ${text}`,
          params,
        );
        plans.push(result.rows.map((row) => row['QUERY PLAN']));
      }
      return client.query(
        typeof config === 'string' ? { text, values: params } : { ...config, values: params },
      );
    },
  };
  const db = drizzle(explaining as unknown as pg.Client, { schema }) as unknown as Database;
  const now = (rows[0]?.newest ?? new Date()).getTime();
  if (worker) {
    await client.end();
    await throughWorker(now, filterText);
    return;
  }
  console.log(`${'shape'.padEnd(48)} ${'fastest'.padStart(9)} ${'slowest'.padStart(9)}  rows`);
  for (const [label, shape] of shapes(now)) {
    if (filterText && !label.includes(filterText)) continue;
    plans.length = 0;
    const outcome = await timeShape(db, label, { sort: 'newest', limit: 50, ...shape });
    const verdict = outcome.cancelled ? '  CANCELLED by statement_timeout (API: 503 unavailable)' : '';
    console.log(
      `${label.padEnd(48)} ${outcome.fastest.toFixed(1).padStart(7)}ms ${outcome.slowest.toFixed(1).padStart(7)}ms  ${String(outcome.rows).padStart(4)}${verdict}`,
    );
    if (explain) {
      for (const [i, plan] of plans.slice(0, plans.length / (RUNS + 1) || 1).entries()) {
        console.log(`  --- statement ${i + 1}\n  ${plan.join('\n  ')}`);
      }
    }
  }
  await client.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
