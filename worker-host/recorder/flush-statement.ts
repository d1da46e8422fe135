import { type SQL, sql } from 'drizzle-orm';
import type { AttemptRow, JobRow, RowBatch } from './record-batch';

/**
 * One statement per flush. Data-modifying CTEs upsert the jobs and the attempts from `unnest`ed
 * arrays, and the metrics rows are computed from what those upserts RETURN, so the per-minute
 * counters move exactly when a row moves:
 *
 * - a job that completed on its first run, the common case, costs no attempt row: its job row holds
 *   that run (worker, start, finish, run time) and the job's detail shows it from there; the batch
 *   leaves such attempts out (record-batch.ts `take`). An attempt row exists for every run of a job
 *   that ran more than once or failed, and for a first run that was reported running before it
 *   finished (`a_first` completes it from the job row). On 20,000 jobs the attempt rows were about
 *   a fifth of Postgres's time. When a later run takes such a job row over (a completed job
 *   retried), `a_kept` first moves the first run into an attempt row;
 * - a job row is only updated when the incoming rank (`attempts * 4 + stage`) is higher than the
 *   stored one: a late `active` never overwrites `completed`, and writing the same batch twice (a
 *   retry after a commit whose acknowledgement was lost, a replayed spool file, the sweep finding a
 *   job the worker process also reported) changes nothing and counts nothing;
 * - `queued` counts rows inserted (`xmax = 0`), `completed`/`failed` count rows that moved into
 *   that state, `retried` counts attempts that moved into `failed` with a retry to come;
 * - a job is keyed by its id and BullMQ's timestamp (`job_ts`, written as job_timestamp and as
 *   queued_at; drizzle/schema/jobs.ts): a job that reuses the id of one BullMQ removed is a new
 *   row with its own attempts, and the rank rule only ever compares events of one job. A row that
 *   does not say its timestamp (a malformed event, a finish known only from the event stream, a
 *   spool line written before timestamps were kept) belongs to the newest job of its id; that one
 *   lookup is made for such rows only (COALESCE evaluates it only when needed).
 *
 * Times travel as milliseconds from one epoch per statement ($31): small numbers are cheaper to write
 * than timestamps or full epoch milliseconds (0.1 µs each for those), and are converted once here.
 */

const stage = (column: string) =>
  `(case ${column} when 'processing' then 1 when 'retrying' then 2 when 'completed' then 3 when 'failed' then 3 when 'deleted' then 3 else 0 end)`;
/** A stored or incoming job row's rank (`t` is its alias): a later run beats an earlier one. */
const rank = (t: string) => `${t}.attempts * 4 + ${stage(`${t}.status`)}`;
const attemptStage = (column: string) =>
  `(case ${column} when 'processing' then 1 when 'stalled' then 2 else 3 end)`;
const ts = (column: string) => `to_timestamp(${column} / 1000.0)`;
/** The newest job with the natural key of row `t`: what a row that does not say which job it is joins. */
const newestJobOf = (t: string) =>
  `(select max(jj.job_timestamp) from watchtower_jobs jj
     where jj.connection = ${t}.connection and jj.queue = ${t}.queue and jj.job_id = ${t}.job_id)`;

const FLUSH_SQL = `
with j_in as (
  select connection, queue, job_id, name, payload, payload_truncated, data_size, status, worker_id, attempts,
    max_attempts, exception, result, $31 + queued_at as queued_at, $31 + due_at as due_at,
    $31 + started_at as started_at, $31 + finished_at as finished_at, sanitized,
    -- Without a timestamp and without an earlier job of its id, a job is dated by its own times.
    floor(coalesce($31 + queued_at, ${newestJobOf('t')}, $31 + started_at, $31 + finished_at,
      extract(epoch from now()) * 1000))::bigint as job_ts
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::int[],
    $8::text[], $9::text[], $10::int[], $11::int[], $12::text[], $13::text[], $14::float8[], $15::float8[],
    $16::float8[], $17::float8[], $32::bool[])
  as t(connection, queue, job_id, name, payload, payload_truncated, data_size, status, worker_id, attempts,
    max_attempts, exception, result, queued_at, due_at, started_at, finished_at, sanitized)
),
j as (
  insert into watchtower_jobs as o (connection, queue, job_id, job_timestamp, name, payload, payload_truncated,
    data_size, status, worker_id, attempts, max_attempts, exception, result, queued_at, started_at, completed_at,
    wait_ms, run_ms, sanitized)
  select connection, queue, job_id, job_ts, coalesce(name, ''), payload::jsonb, coalesce(payload_truncated, false),
    coalesce(data_size, 0), status, worker_id, attempts, coalesce(max_attempts, 1), exception, result::jsonb,
    ${ts('job_ts')},
    ${ts('started_at')},
    case when status in ('completed', 'failed') then ${ts('finished_at')} end,
    case when started_at is not null and coalesce(due_at, queued_at) is not null
      then greatest(0, started_at - coalesce(due_at, queued_at))::int end,
    case when status in ('completed', 'failed', 'retrying') and finished_at is not null and started_at is not null
      then greatest(0, finished_at - started_at)::int end,
    coalesce(sanitized, false)
  from j_in
  order by connection, queue, job_id, job_ts
  -- A job's timestamp and queued_at are its own from its first row on: never updated.
  on conflict (connection, queue, job_id, job_timestamp) do update set
    name = case when excluded.name = '' then o.name else excluded.name end,
    payload = coalesce(excluded.payload, o.payload),
    payload_truncated = case when excluded.payload is null then o.payload_truncated else excluded.payload_truncated end,
    data_size = case when excluded.payload is null then o.data_size else excluded.data_size end,
    status = excluded.status,
    worker_id = coalesce(excluded.worker_id, o.worker_id),
    attempts = excluded.attempts,
    max_attempts = greatest(o.max_attempts, excluded.max_attempts),
    exception = excluded.exception,
    result = excluded.result,
    started_at = coalesce(excluded.started_at, o.started_at),
    completed_at = excluded.completed_at,
    wait_ms = coalesce(excluded.wait_ms, o.wait_ms),
    run_ms = excluded.run_ms,
    sanitized = o.sanitized or excluded.sanitized,
    updated_at = now()
  where ${rank('excluded')} > ${rank('o')}
  returning o.connection, o.queue, o.status, o.queued_at, o.completed_at, o.wait_ms, o.run_ms,
    (o.xmax = 0) as inserted
),
a_in as (
  select connection, queue, job_id, attempt, worker_id, host_id, status, $31 + started_at as started_at,
    $31 + finished_at as finished_at, error_message, error_stack, will_retry,
    -- An undated attempt whose job is not in the table yet takes the date its job row gets above.
    coalesce(floor($31 + t.job_ts)::bigint, ${newestJobOf('t')},
      (select max(ji.job_ts) from j_in ji
       where ji.connection = t.connection and ji.queue = t.queue and ji.job_id = t.job_id),
      floor($31 + started_at)::bigint) as job_ts
  from unnest($18::text[], $19::text[], $20::text[], $21::int[], $22::text[], $23::text[],
    $24::text[], $25::float8[], $26::float8[], $27::text[], $28::text[], $29::bool[], $30::float8[])
  as t(connection, queue, job_id, attempt, worker_id, host_id, status, started_at, finished_at,
    error_message, error_stack, will_retry, job_ts)
),
a_kept as (
  -- A job row holding its first run (above) that a later run is about to take over, as when a
  -- completed job is retried: the first run becomes an attempt row before it is overwritten. Like
  -- every part of this statement, this reads the table as it was before the statement.
  insert into watchtower_job_attempts (connection, queue, job_id, job_timestamp, attempt, worker_id, host_id,
    status, started_at, finished_at, run_ms)
  select o.connection, o.queue, o.job_id, o.job_timestamp, 1, o.worker_id,
    (select w.host_id from watchtower_workers w where w.worker_id = o.worker_id),
    'completed', o.started_at, o.completed_at, o.run_ms
  from j_in i
  -- One probe by natural key per incoming later run, none on the happy path: joined plainly, with
  -- stale statistics the planner chose to scan every completed job and join them all to the batch.
  cross join lateral (
    select * from watchtower_jobs jj
    where jj.connection = i.connection and jj.queue = i.queue and jj.job_id = i.job_id
      and jj.job_timestamp = i.job_ts
    offset 0
  ) o
  where i.attempts > 1 and o.attempts = 1 and o.status in ('completed', 'retrying')
    and o.exception is null and o.started_at is not null and o.completed_at is not null
    and not exists (select 1 from a_in x where x.connection = i.connection and x.queue = i.queue
      and x.job_id = i.job_id and x.job_ts = i.job_ts and x.attempt = 1)
  on conflict (connection, queue, job_id, job_timestamp, attempt) do nothing
),
a as (
  insert into watchtower_job_attempts as o (connection, queue, job_id, job_timestamp, attempt, worker_id, host_id,
    status, started_at, finished_at, run_ms, error_message, error_stack)
  select connection, queue, job_id, job_ts, attempt, worker_id, host_id, status, ${ts('started_at')},
    ${ts('finished_at')}, case when finished_at is not null then greatest(0, finished_at - started_at)::int end,
    error_message, error_stack
  from a_in i
  -- A start reported after its job already moved past it (a late event, the sweep) would leave a
  -- row 'processing' for ever.
  where not (i.status = 'processing' and exists (
      select 1 from watchtower_jobs jj
      where jj.connection = i.connection and jj.queue = i.queue and jj.job_id = i.job_id
        and jj.job_timestamp = i.job_ts and ${rank('jj')} > i.attempt * 4 + 1))
  order by connection, queue, job_id, job_ts, attempt
  on conflict (connection, queue, job_id, job_timestamp, attempt) do update set
    worker_id = coalesce(excluded.worker_id, o.worker_id),
    host_id = coalesce(excluded.host_id, o.host_id),
    status = excluded.status,
    started_at = least(o.started_at, excluded.started_at),
    finished_at = excluded.finished_at,
    run_ms = excluded.run_ms,
    error_message = excluded.error_message,
    error_stack = excluded.error_stack
  where ${attemptStage('excluded.status')} > ${attemptStage('o.status')}
  returning o.connection, o.queue, o.job_id, o.job_timestamp, o.attempt, o.status, o.finished_at
),
a_first as (
  -- From the job rows, which the batch leaves such first runs to (record-batch.ts), and among the
  -- few attempts running (watchtower_job_attempts_running) rather than by one probe per job.
  update watchtower_job_attempts o set
    status = 'completed',
    worker_id = coalesce(i.worker_id, o.worker_id),
    started_at = least(o.started_at, coalesce(${ts('i.started_at')}, o.started_at)),
    finished_at = ${ts('i.finished_at')},
    run_ms = case when i.finished_at is not null and i.started_at is not null
      then greatest(0, i.finished_at - i.started_at)::int end
  from j_in i
  where i.attempts = 1 and i.status = 'completed'
    and o.connection = i.connection and o.queue = i.queue and o.job_id = i.job_id
    and o.job_timestamp = i.job_ts and o.attempt = 1 and o.status = 'processing'
  returning 1
),
m_in as (
  select connection, queue, date_trunc('minute', queued_at) as minute, 1 as queued, 0 as completed,
    0 as failed, 0 as retried, 0::float8 as run_ms, 0::float8 as wait_ms
  from j where inserted
  union all
  select connection, queue, date_trunc('minute', completed_at), 0, (status = 'completed')::int,
    (status = 'failed')::int, 0, coalesce(run_ms, 0), coalesce(wait_ms, 0)
  from j where status in ('completed', 'failed')
  union all
  select a.connection, a.queue, date_trunc('minute', coalesce(a.finished_at, now())), 0, 0, 0, 1, 0, 0
  from a join a_in i on i.connection = a.connection and i.queue = a.queue and i.job_id = a.job_id
    and i.job_ts = a.job_timestamp and i.attempt = a.attempt
  where a.status = 'failed' and i.will_retry
)
insert into watchtower_metrics as o (minute, connection, queue, queued, completed, failed, retried,
  run_ms_sum, run_ms_max, wait_ms_sum, wait_ms_max)
select minute, connection, queue, sum(queued), sum(completed), sum(failed), sum(retried), sum(run_ms),
  max(run_ms), sum(wait_ms), max(wait_ms)
from m_in
group by minute, connection, queue
order by minute, connection, queue
on conflict (minute, connection, queue) do update set
  queued = o.queued + excluded.queued,
  completed = o.completed + excluded.completed,
  failed = o.failed + excluded.failed,
  retried = o.retried + excluded.retried,
  run_ms_sum = o.run_ms_sum + excluded.run_ms_sum,
  run_ms_max = greatest(o.run_ms_max, excluded.run_ms_max),
  wait_ms_sum = o.wait_ms_sum + excluded.wait_ms_sum,
  wait_ms_max = greatest(o.wait_ms_max, excluded.wait_ms_max)
`;

/**
 * A run that was cut off (its worker process died, its lock expired) leaves an attempt row in
 * `processing`; once a later attempt of the same job is seen, the earlier one is known to have
 * stalled. Only needed when a batch holds attempts after the first, which the happy path never does.
 *
 * A run cut off together with its host may have left no row at all: its start was still in the
 * dead host's memory. BullMQ counts the job's stalled runs (`stalledRuns`, as the later run
 * reports it); when the earlier runs Postgres lacks are no more than the stalls it cannot account
 * for (those without a `processing` or `stalled` row), every one of them was such a run, and gets
 * a `stalled` row: its start unknown (null), ended by the time the later run started. Fewer
 * unaccounted stalls than missing runs (a failure that was never written is missing too) leaves
 * them out rather than guess which is which.
 */
const STALLED_SQL = `
with i as (
  select u.connection, u.queue, u.job_id, u.attempt, u.stalled_runs, u.started_at,
    -- An undated attempt (a spool line from before timestamps were kept) goes to the newest job.
    coalesce(floor(u.job_timestamp)::bigint, (select max(j.job_timestamp) from watchtower_jobs j
      where j.connection = u.connection and j.queue = u.queue and j.job_id = u.job_id)) as job_ts
  from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::int[], $7::float8[])
    as u(connection, queue, job_id, attempt, job_timestamp, stalled_runs, started_at)
),
marked as (
  update watchtower_job_attempts t
  set status = 'stalled', finished_at = coalesce(t.finished_at, now())
  from i
  where t.connection = i.connection and t.queue = i.queue and t.job_id = i.job_id
    and t.job_timestamp = i.job_ts and t.attempt < i.attempt and t.status = 'processing'
  returning 1
),
known as (
  select i.connection, i.queue, i.job_id, i.job_ts, i.attempt, i.stalled_runs, i.started_at,
    count(t.attempt) as kept,
    count(t.attempt) filter (where t.status in ('processing', 'stalled')) as cut
  from i
  left join watchtower_job_attempts t on t.connection = i.connection and t.queue = i.queue
    and t.job_id = i.job_id and t.job_timestamp = i.job_ts and t.attempt < i.attempt
  where i.stalled_runs > 0 and i.job_ts is not null
  group by i.connection, i.queue, i.job_id, i.job_ts, i.attempt, i.stalled_runs, i.started_at
)
insert into watchtower_job_attempts (connection, queue, job_id, job_timestamp, attempt, status, started_at,
  finished_at, error_message)
select k.connection, k.queue, k.job_id, k.job_ts, g.n, 'stalled', null,
  coalesce(to_timestamp(k.started_at / 1000.0), now()),
  'Cut off with its host before its start was recorded; BullMQ found it stalled and ran the job again.'
from known k
cross join lateral generate_series(1, k.attempt - 1) as g(n)
where k.attempt - 1 - k.kept between 1 and k.stalled_runs - k.cut
  and not exists (select 1 from watchtower_job_attempts t where t.connection = k.connection
    and t.queue = k.queue and t.job_id = k.job_id and t.job_timestamp = k.job_ts and t.attempt = g.n)
on conflict (connection, queue, job_id, job_timestamp, attempt) do nothing
`;

/** Turns `$n` placeholders into drizzle params, each bound whole (an array stays one array). */
function withParams(text: string, values: unknown[]): SQL {
  const parts = text.split(/\$(\d+)/);
  const chunks: SQL[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (i % 2 === 0) chunks.push(sql.raw(part));
    else chunks.push(sql`${sql.param(values[Number(part) - 1])}`);
  }
  return sql.join(chunks);
}

/*
 * The arrays are sent as ready-made Postgres array literals, built by the engine's native
 * JSON.stringify: a JSON array of strings, numbers, booleans and nulls is a valid Postgres array
 * literal once its brackets become braces, as long as the only escapes in it are \" and \\ (the
 * two Postgres array literals share). A column holding anything JSON escapes differently (control
 * characters, such as the newlines of a stack) is built element by element instead. node-postgres
 * would escape every element with two regular expressions: on a 20,000-job burst that was most of
 * the supervisor's CPU per flush.
 */
const OTHER_ESCAPES = /\\[^"\\]/;

function arrayLiteral(values: unknown[]): string {
  // Most columns of a flush hold one value throughout (its connection, queue, status, worker, the
  // nulls of what a clean run lacks): written once and repeated.
  const first = values[0];
  let same = values.length > 1;
  for (let i = 1; same && i < values.length; i++) same = values[i] === first;
  if (same) {
    const one = JSON.stringify([first]);
    if (!OTHER_ESCAPES.test(one))
      return `{${`${one.slice(1, -1)},`.repeat(values.length - 1)}${one.slice(1, -1)}}`;
  }
  const json = JSON.stringify(values);
  if (!OTHER_ESCAPES.test(json)) return `{${json.slice(1, -1)}}`;
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === undefined || value === null) out += 'NULL';
    else out += `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  return `${out}}`;
}

/**
 * The rows as one array literal per column, `fields` giving a row's values in the statement's
 * order (a missing value is null).
 */
function columnsOf<Row>(rows: Row[], width: number, fields: (row: Row) => unknown[]): string[] {
  const columns = Array.from({ length: width }, () => new Array<unknown>(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const values = fields(rows[i] as Row);
    for (let k = 0; k < width; k++) (columns[k] as unknown[])[i] = values[k] ?? null;
  }
  return columns.map(arrayLiteral);
}

/** A time as sent: milliseconds from the statement's epoch. */
const since = (base: number, at: number | undefined) => (at === undefined ? null : at - base);

const jobColumns = (rows: JobRow[], base: number) =>
  columnsOf(rows, 17, (r) => [
    r.connection,
    r.queue,
    r.jobId,
    r.name,
    r.payload,
    r.payloadTruncated,
    r.dataSize,
    r.status,
    r.workerId,
    r.attempt,
    r.maxAttempts,
    r.exception,
    r.result,
    since(base, r.queuedAt),
    since(base, r.dueAt),
    since(base, r.startedAt),
    since(base, r.finishedAt),
  ]);

const attemptColumns = (rows: AttemptRow[], base: number) =>
  columnsOf(rows, 13, (r) => [
    r.connection,
    r.queue,
    r.jobId,
    r.attempt,
    r.workerId,
    r.hostId,
    r.status,
    since(base, r.startedAt),
    since(base, r.finishedAt),
    r.errorMessage,
    r.errorStack,
    r.willRetry === true,
    since(base, r.jobTimestamp),
  ]);

export function flushStatement(batch: RowBatch): SQL {
  const base = epochOf(batch);
  return withParams(FLUSH_SQL, [
    ...jobColumns(batch.jobs, base),
    ...attemptColumns(batch.attempts, base),
    base,
    // Appended rather than among the job columns, so their numbers stay as they are.
    arrayLiteral(batch.jobs.map((r) => r.sanitized === true)),
  ]);
}

/** Any time of the batch will do: it only keeps the numbers sent small. */
function epochOf(batch: RowBatch): number {
  const row = batch.jobs[0];
  return row?.startedAt ?? row?.queuedAt ?? batch.attempts[0]?.startedAt ?? 0;
}

/** The stall fix for this batch, or undefined when it has no attempt after the first. */
export function stalledStatement(batch: RowBatch): SQL | undefined {
  const later = batch.attempts.filter((a) => a.attempt > 1);
  if (later.length === 0) return undefined;
  return withParams(STALLED_SQL, [
    later.map((a) => a.connection),
    later.map((a) => a.queue),
    later.map((a) => a.jobId),
    later.map((a) => a.attempt),
    later.map((a) => a.jobTimestamp ?? null),
    later.map((a) => a.stalledRuns ?? 0),
    later.map((a) => a.startedAt),
  ]);
}
