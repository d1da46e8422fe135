/**
 * The API benchmark's data set: a million job rows written by Postgres itself (INSERT ... SELECT
 * FROM generate_series, a handful of statements), so seeding takes minutes, not hours.
 *
 * Every value derives from the row number through `hashint4extended(i, seed)`, so two seeds of the
 * same size hold the same data (only the timestamps move with `now()`). The mix:
 * - 8 queues on 2 connections (`default`, `analytics`), weighted like a real install;
 * - statuses ~85% completed, 8% failed, 3.5% queued, 2% delayed, 1% retrying, 0.1% processing,
 *   0.4% deleted; queued_at spread evenly over the last 7 days, in id order (as the recorder writes);
 * - payloads from ~100 bytes to ~15 KB, and 0.5% over the 16 KB store cap, stored cut with the flag;
 * - exceptions with stack text on failed and retrying jobs, attempts rows for failed, retrying and
 *   retried jobs;
 * - per-minute rollups in watchtower_metrics for the 7 days, aggregated from those jobs, with depth
 *   samples in the last 15 minutes; 3 hosts and 14 worker processes.
 *
 * The jobs tables' secondary indexes are dropped before the insert and built again after it (far
 * faster than maintaining them row by row), from their own definitions in pg_indexes.
 */
import type pg from 'pg';

/** The recorder's cap (worker-host/recorder/job-event.ts DEFAULT_PAYLOAD_CAP). */
const PAYLOAD_CAP = 16 * 1024;

export const BENCH_QUEUES = [
  {
    connection: 'default',
    queue: 'emails',
    weight: 30,
    maxAttempts: 3,
    names: ['SendWelcomeEmail', 'SendInvoiceEmail', 'SendPasswordReset'],
  },
  {
    connection: 'default',
    queue: 'webhooks',
    weight: 20,
    maxAttempts: 5,
    names: ['DeliverWebhook', 'RetryWebhookDelivery'],
  },
  {
    connection: 'default',
    queue: 'reports',
    weight: 10,
    maxAttempts: 1,
    names: ['BuildDailyReport', 'BuildMonthlyReport', 'ExportCsv'],
  },
  {
    connection: 'default',
    queue: 'images',
    weight: 8,
    maxAttempts: 3,
    names: ['ResizeImage', 'GenerateThumbnail'],
  },
  {
    connection: 'analytics',
    queue: 'events',
    weight: 15,
    maxAttempts: 3,
    names: ['IngestEvent', 'EnrichEvent', 'AggregateSession'],
  },
  { connection: 'analytics', queue: 'exports', weight: 7, maxAttempts: 1, names: ['ExportToWarehouse'] },
  {
    connection: 'analytics',
    queue: 'billing',
    weight: 6,
    maxAttempts: 5,
    names: ['ChargeSubscription', 'SyncStripeInvoice'],
  },
  {
    connection: 'analytics',
    queue: 'notifications',
    weight: 4,
    maxAttempts: 3,
    names: ['PushNotification', 'SendSms'],
  },
] as const;

/** Failure messages with the first stack line's frame; the rest of the stack is shared. */
const EXCEPTIONS = [
  [
    'Error: connect ECONNREFUSED 10.0.3.12:5432',
    'TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)',
  ],
  [
    'TimeoutError: job exceeded its 30000 ms timeout',
    'Timeout._onTimeout (/app/node_modules/bullmq/dist/cjs/classes/worker.js:812:23)',
  ],
  [
    'SmtpError: 550 5.1.1 mailbox unavailable for recipient',
    'SMTPConnection._actionRCPT (/app/node_modules/nodemailer/lib/smtp-connection/index.js:1683:31)',
  ],
  [
    'StripeCardError: Your card was declined (card_declined)',
    'StripeError.generate (/app/node_modules/stripe/cjs/Error.js:10:20)',
  ],
  [
    "ValidationError: payload field 'email' must be a valid address",
    'validatePayload (/app/dist/jobs/validate.js:41:11)',
  ],
  [
    'HttpError: upstream answered 503 Service Unavailable',
    'deliver (/app/dist/jobs/webhooks/deliver.js:77:15)',
  ],
] as const;

const STACK_TAIL = [
  'processJob (/app/dist/worker/processor.js:58:19)',
  'async Worker.callProcessJob (/app/node_modules/bullmq/dist/cjs/classes/worker.js:694:24)',
  'async Worker.processJob (/app/node_modules/bullmq/dist/cjs/classes/worker.js:397:28)',
  'async Worker.retryIfFailed (/app/node_modules/bullmq/dist/cjs/classes/worker.js:581:24)',
]
  .map((frame) => `\n    at ${frame}`)
  .join('');

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function textArray(values: readonly string[]): string {
  return `(array[${values.map(literal).join(', ')}]::text[])`;
}

export interface SeedReport {
  jobs: number;
  attempts: number;
  metrics: number;
  steps: Array<{ step: string; ms: number }>;
}

/** Empties the benchmark's tables and writes the data set. `client` is a pg Client on the bench database. */
export async function seedBenchData(
  client: pg.Client,
  jobs: number,
  log: (line: string) => void,
): Promise<SeedReport> {
  const steps: SeedReport['steps'] = [];
  const step = async (name: string, statement: string): Promise<pg.QueryResult> => {
    const started = performance.now();
    const result = await client.query(statement);
    const ms = performance.now() - started;
    steps.push({ step: name, ms });
    log(`  ${name}: ${(ms / 1000).toFixed(1)} s`);
    return result;
  };

  // One transaction: a seed that fails half-way (dropped indexes included) leaves the database as it was.
  await client.query('begin');
  try {
    await writeRows(client, jobs, step);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  await step('vacuum analyze', 'vacuum analyze watchtower_jobs, watchtower_job_attempts, watchtower_metrics');

  const counts = await client.query<{ jobs: string; attempts: string; metrics: string }>(
    `select (select count(*) from watchtower_jobs) as jobs, (select count(*) from watchtower_job_attempts) as attempts,
            (select count(*) from watchtower_metrics) as metrics`,
  );
  const row = counts.rows[0];
  return { jobs: Number(row?.jobs), attempts: Number(row?.attempts), metrics: Number(row?.metrics), steps };
}

async function writeRows(
  client: pg.Client,
  jobs: number,
  step: (name: string, statement: string) => Promise<pg.QueryResult>,
): Promise<void> {
  await client.query(`set maintenance_work_mem = '256MB'`);
  await client.query(`set synchronous_commit = off`);
  await client.query(`set work_mem = '64MB'`);

  const { rows: indexRows } = await client.query<{ name: string; definition: string }>(
    `select i.indexname as name, i.indexdef as definition
     from pg_indexes i
     where i.schemaname = current_schema() and i.tablename in ('watchtower_jobs', 'watchtower_job_attempts')
       and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`,
  );
  await step(
    'truncate',
    'truncate watchtower_jobs, watchtower_job_attempts, watchtower_metrics, watchtower_workers, watchtower_hosts',
  );
  for (const index of indexRows) await client.query(`drop index if exists "${index.name}"`);

  // Cumulative weights: queue k takes the row when lo <= (hash % 100) < hi.
  let lo = 0;
  const queueCases = BENCH_QUEUES.map((q, k) => {
    const hi = lo + q.weight;
    const when = `when g.qr < ${hi} then ${k + 1}`;
    lo = hi;
    return when;
  }).join(' ');
  const queueArray = (pick: (q: (typeof BENCH_QUEUES)[number]) => string) =>
    textArray(BENCH_QUEUES.map(pick));
  const exceptionArray = textArray(
    EXCEPTIONS.map(([message, frame]) => `${message}\n    at ${frame}${STACK_TAIL}`),
  );
  const maxAttempts = `(array[${BENCH_QUEUES.map((q) => q.maxAttempts).join(', ')}])`;
  const names = BENCH_QUEUES.map((q) => textArray(q.names));

  await step(
    `insert ${jobs.toLocaleString('en-US')} jobs`,
    `insert into watchtower_jobs (job_id, job_timestamp, queue, connection, name, payload, payload_truncated, data_size,
       status, worker_id, attempts, max_attempts, exception, result, queued_at, started_at, completed_at, wait_ms,
       run_ms, updated_at)
     select s.job_id, floor(extract(epoch from s.queued_at) * 1000)::bigint, s.queue, s.connection, s.name, s.payload,
            s.truncated,
            case when s.truncated then 20000 + s.h5 % 480000 else octet_length(s.payload::text) end,
            s.status, case when s.started is null then null else 'bench-worker-' || (s.h6 % 14) end,
            s.attempts, s.max_attempts,
            case when s.status in ('failed', 'retrying') then ${exceptionArray}[1 + s.h7 % ${EXCEPTIONS.length}] end,
            case when s.status = 'completed' then jsonb_build_object('ok', true, 'ms', s.run_ms) end,
            s.queued_at, s.started, s.finished,
            case when s.started is null then null else s.wait_ms end,
            case when s.finished is null then null else s.run_ms end,
            coalesce(s.finished, s.started, s.queued_at)
     from (
       select f.*,
              case when f.status in ('queued', 'delayed') then null
                   else least(f.queued_at + f.wait_ms * interval '1 ms', now()) end as started,
              case when f.status in ('completed', 'failed', 'deleted')
                   then least(f.queued_at + (f.wait_ms + f.run_ms) * interval '1 ms', now()) end as finished,
              case when f.status = 'failed' then f.max_attempts
                   when f.status = 'retrying' then 1 + f.h8 % greatest(f.max_attempts - 1, 1)
                   when f.status in ('queued', 'delayed') then 0
                   when f.status = 'completed' and f.max_attempts > 1 and f.h8 % 100 < 4 then 2
                   else 1 end as attempts,
              case when f.sr >= 995 then true else false end as truncated,
              case
                when f.sr >= 995 then to_jsonb(left(
                  '{"blob":"' || repeat(md5(f.i::text), 700) || '","email":"' || f.email || '"}', ${PAYLOAD_CAP}))
                else jsonb_build_object(
                  'userId', f.user_id, 'email', f.email, 'orderId', 'ord_' || lpad(to_hex(f.h5), 8, '0'),
                  'region', (array['eu-west-1', 'us-east-1', 'ap-south-1'])[1 + f.h6 % 3],
                  'locale', (array['en', 'fr', 'de', 'es', 'pt'])[1 + f.h7 % 5])
                  || case
                       when f.sr < 500 then '{}'::jsonb
                       when f.sr < 850 then jsonb_build_object('renderedTemplateBody', repeat(md5(f.i::text), 6))
                       when f.sr < 990 then jsonb_build_object('renderedTemplateBody', repeat(md5(f.i::text), (30 + f.h8 % 100)::int))
                       else jsonb_build_object('renderedTemplateBody', repeat(md5(f.i::text), (250 + f.h8 % 200)::int))
                     end
              end as payload
       from (
         select e.*,
                ${queueArray((q) => q.queue)}[e.qi] as queue,
                ${queueArray((q) => q.connection)}[e.qi] as connection,
                ${maxAttempts}[e.qi] as max_attempts,
                case e.qi ${names.map((n, k) => `when ${k + 1} then ${n}[1 + e.h4 % ${BENCH_QUEUES[k]?.names.length ?? 1}]`).join(' ')} end as name,
                case when e.r < 8500 then 'completed' when e.r < 9300 then 'failed' when e.r < 9650 then 'queued'
                     when e.r < 9850 then 'delayed' when e.r < 9950 then 'retrying' when e.r < 9960 then 'processing'
                     else 'deleted' end as status
         from (
           select g.*, case ${queueCases} else ${BENCH_QUEUES.length} end as qi
           from (
             select i, i::text as job_id,
                    now() - interval '7 days' + (i::float8 / ${jobs}) * interval '7 days'
                      - (abs(hashint4extended(i, 9)) % 1000) * interval '1 ms' as queued_at,
                    abs(hashint4extended(i, 1)) % 10000 as r,
                    abs(hashint4extended(i, 2)) % 100 as qr,
                    abs(hashint4extended(i, 3)) % 1000 as sr,
                    abs(hashint4extended(i, 4)) as h4,
                    abs(hashint4extended(i, 5)) as h5,
                    abs(hashint4extended(i, 6)) as h6,
                    abs(hashint4extended(i, 7)) as h7,
                    abs(hashint4extended(i, 8)) as h8,
                    abs(hashint4extended(i, 10)) % 100000 as user_id,
                    'user' || lpad((abs(hashint4extended(i, 10)) % 100000)::text, 5, '0') || '@example.com' as email,
                    ((abs(hashint4extended(i, 11)) % 1000) ^ 2 / 200)::int as wait_ms,
                    (5 + abs(hashint4extended(i, 12)) % 3000)::int as run_ms
             from generate_series(1, ${jobs}) i
           ) g
         ) e
       ) f
     ) s`,
  );

  await step(
    'insert attempts',
    `insert into watchtower_job_attempts (connection, queue, job_id, job_timestamp, attempt, worker_id, host_id, status,
       started_at, finished_at, run_ms, error_message, error_stack)
     select j.connection, j.queue, j.job_id, j.job_timestamp, a.n, j.worker_id,
            'bench-host-' || (array['a', 'b', 'c'])[1 + (j.id % 3)::int],
            case when a.n = j.attempts and j.status = 'completed' then 'completed' else 'failed' end,
            j.started_at - (j.attempts - a.n) * interval '30 seconds',
            j.started_at - (j.attempts - a.n) * interval '30 seconds' + coalesce(j.run_ms, 100) * interval '1 ms',
            coalesce(j.run_ms, 100),
            case when a.n = j.attempts and j.status = 'completed' then null
                 else split_part(coalesce(j.exception, ${literal(`${EXCEPTIONS[0][0]}\n`)}), E'\\n', 1) end,
            case when a.n = j.attempts and j.status = 'completed' then null
                 else coalesce(j.exception, ${literal(`${EXCEPTIONS[0][0]}\n    at ${EXCEPTIONS[0][1]}${STACK_TAIL}`)}) end
     from watchtower_jobs j
     cross join lateral generate_series(1, j.attempts) a(n)
     where j.status in ('failed', 'retrying') or (j.status = 'completed' and j.attempts > 1)`,
  );

  await step(
    'insert per-minute metrics',
    `insert into watchtower_metrics (minute, connection, queue, queued, completed, failed, retried, run_ms_sum,
       run_ms_max, wait_ms_sum, wait_ms_max)
     select minute, connection, queue, sum(queued), sum(completed), sum(failed), sum(retried),
            sum(run_ms), max(run_ms), sum(wait_ms), max(wait_ms)
     from (
       select date_trunc('minute', queued_at) as minute, connection, queue, 1 as queued, 0 as completed,
              0 as failed, 0 as retried, 0 as run_ms, 0 as wait_ms
       from watchtower_jobs
       union all
       select date_trunc('minute', completed_at), connection, queue, 0, (status = 'completed')::int,
              (status = 'failed')::int, greatest(attempts - 1, 0), coalesce(run_ms, 0), coalesce(wait_ms, 0)
       from watchtower_jobs where completed_at is not null and status in ('completed', 'failed')
     ) e
     group by minute, connection, queue
     order by minute, connection, queue`,
  );
  await step(
    'depth samples',
    `update watchtower_metrics m set depth = d.n
     from (select connection, queue, count(*) as n from watchtower_jobs
           where status in ('queued', 'delayed') group by connection, queue) d
     where m.connection = d.connection and m.queue = d.queue
       and m.minute >= date_trunc('minute', now()) - interval '15 minutes'`,
  );

  await seedHostsAndWorkers(client);

  for (const index of indexRows) await step(`index ${index.name}`, index.definition);
}

/** Three hosts with their supervisors and 14 worker processes; heartbeats are refreshed on every run. */
async function seedHostsAndWorkers(client: pg.Client): Promise<void> {
  const hosts = ['a', 'b', 'c'].map((suffix, k) => {
    const queues = BENCH_QUEUES.filter((_, q) => q % 3 === k || k === 2);
    const supervisors = [...new Set(queues.map((q) => q.connection))].map((connection) => ({
      name: `supervisor-${connection}`,
      status: 'running',
      connection,
      queues: queues.filter((q) => q.connection === connection).map((q) => q.queue),
      balance: 'auto',
      minProcesses: 1,
      maxProcesses: 4,
      processes: Object.fromEntries(
        queues.filter((q) => q.connection === connection).map((q) => [q.queue, 1]),
      ),
    }));
    return {
      hostId: `bench-host-${suffix}`,
      connections: [...new Set(queues.map((q) => q.connection))],
      supervisors,
    };
  });
  for (const host of hosts) {
    await client.query(
      `insert into watchtower_hosts (host_id, hostname, pid, version, status, connections, supervisors, memory_bytes)
       values ($1, $2, 1000, '0.1.0', 'running', $3, $4, 180000000)`,
      [
        host.hostId,
        `${host.hostId}.internal`,
        JSON.stringify(host.connections),
        JSON.stringify(host.supervisors),
      ],
    );
  }
  const statuses = ['running', 'running', 'running', 'running', 'paused', 'running', 'stopped'];
  for (let w = 0; w < 14; w++) {
    const queue = BENCH_QUEUES[w % BENCH_QUEUES.length];
    const host = hosts[w % hosts.length];
    if (!queue || !host) continue;
    await client.query(
      `insert into watchtower_workers (worker_id, host_id, supervisor, connection, queue, pid, status,
         jobs_processed, jobs_failed, memory_bytes)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 90000000)`,
      [
        `bench-worker-${w}`,
        host.hostId,
        `supervisor-${queue.connection}`,
        queue.connection,
        queue.queue,
        2000 + w,
        statuses[w % statuses.length],
        60_000 + w * 1000,
        5_000 + w * 100,
      ],
    );
  }
}

/** Keeps the hosts and workers live (heartbeat now) on a re-run against an existing seed. */
export async function refreshHeartbeats(client: pg.Client): Promise<void> {
  await client.query('update watchtower_hosts set last_heartbeat = now()');
  await client.query('update watchtower_workers set last_heartbeat = now()');
}
