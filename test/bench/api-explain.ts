/**
 * `npx tsx test/bench/api-explain.ts [filter]`: EXPLAIN (ANALYZE, BUFFERS) of the statements the API
 * benchmark's routes run, on its seeded database, through the same query functions (each statement
 * they send is explained, then run). A filter keeps only routes whose label contains it.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { Database } from '../../core/db/database';
import * as schema from '../../drizzle/schema';
import { findJob } from '../../functions/queries/job-detail';
import { type JobListFilter, listJobs } from '../../functions/queries/list-jobs';
import { metricsWithStats } from '../../functions/queries/metrics';
import { pollSnapshot } from '../../functions/queries/poll';
import { listQueues } from '../../functions/queries/queues';

const DATABASE_URL =
  process.env.WATCHTOWER_BENCH_API_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower_bench_api';

const list = (filter: Partial<JobListFilter>) => (db: Database) =>
  listJobs(db, { sort: 'newest', limit: 50, ...filter });

async function main(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ id: string; queued_at: string }>(
    `select id, to_char(queued_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as queued_at
     from watchtower_jobs order by queued_at desc nulls last, id desc nulls last limit 1 offset 2499`,
  );
  const failed = await client.query<{ id: string; connection: string; queue: string; job_id: string }>(
    `select id, connection, queue, job_id from watchtower_jobs where status = 'failed' and attempts >= 3
     order by queued_at desc nulls last, id desc nulls last limit 1 offset 500`,
  );
  const deep = rows[0];
  const routes: Array<[string, (db: Database) => Promise<unknown>]> = [
    ['poll', (db) => pollSnapshot(db, { recentJobs: 10, workers: { limit: 100 }, openCommands: true })],
    ['jobs first page', list({})],
    ['jobs deep page', list({ cursor: { queuedAt: deep?.queued_at ?? '', id: Number(deep?.id) } })],
    ['jobs status+queue', list({ status: 'failed', queue: 'billing' })],
    ['jobs queue', list({ queue: 'webhooks' })],
    ['failed first page', list({ status: 'failed' })],
    ['failed search', list({ status: 'failed', search: 'ECONNREFUSED' })],
    ['search data', list({ search: 'user04242@example.com' })],
    ['search exception', list({ search: 'card_declined' })],
    ['search job id', list({ search: '704322' })],
    ['search common data', list({ search: '@example.com' })],
    ['search prefix', list({ search: 'ord_4cf*' })],
    ['job detail', (db) => findJob(db, { id: Number(failed.rows[0]?.id) })],
    [
      'job detail by key',
      (db) =>
        findJob(db, {
          connection: failed.rows[0]?.connection ?? '',
          queue: failed.rows[0]?.queue ?? '',
          jobId: failed.rows[0]?.job_id ?? '',
        }),
    ],
    ['metrics', (db) => metricsWithStats(db)],
    ['queues', (db) => listQueues(db)],
  ];
  const filter = process.argv[2];
  for (const [label, run] of routes) {
    if (filter && !label.includes(filter)) continue;
    const plans: string[][] = [];
    // Every statement the function sends is explained, then run for real so that what it does
    // next (a search's second statement) follows from real rows.
    const explaining = {
      query: async (config: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
        const text = typeof config === 'string' ? config : config.text;
        const params = (typeof config === 'string' ? values : (config.values ?? values)) as unknown[];
        const result = await client.query<{ 'QUERY PLAN': string }>(
          `explain (analyze, buffers) ${text}`,
          params,
        );
        plans.push(result.rows.map((row) => row['QUERY PLAN']));
        return client.query(
          typeof config === 'string' ? { text, values: params } : { ...config, values: params },
        );
      },
    };
    const db = drizzle(explaining as unknown as pg.Client, { schema }) as unknown as Database;
    await run(db).catch((error: unknown) => console.error(error));
    plans.forEach((plan, i) => {
      console.log(
        `\n===== ${label}${plans.length > 1 ? ` (statement ${i + 1} of ${plans.length})` : ''}\n${plan.join('\n')}`,
      );
    });
  }
  await client.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
