import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { jobMatches } from '../../core/db/job-search';
import { encodeJobCursor, type JobCursor } from './job-cursor';
import { JOB_STATUSES, type JobStatus, type JobSummary } from './job-schemas';
import { nameEquals } from './job-search';
import { isoMicros, isoText, num, numOrNull, query } from './sql';

export type JobSort = 'newest' | 'oldest';

export interface JobListFilter {
  status?: JobStatus | undefined;
  queue?: string | undefined;
  connection?: string | undefined;
  name?: string | undefined;
  /** queued_at >= from, queued_at < to (ISO 8601). */
  from?: string | undefined;
  to?: string | undefined;
  /** When the job failed (its completed_at, else its last update): what the bulk failed commands filter on. */
  failedAfter?: string | undefined;
  failedBefore?: string | undefined;
  /** Words of the job id, name, exception or data (core/db/job-search.ts). */
  search?: string | undefined;
  cursor?: JobCursor | undefined;
  sort: JobSort;
  limit: number;
}

export interface JobRow {
  id: number | string;
  job_id: string;
  job_timestamp: number | string;
  queue: string;
  connection: string;
  name: string;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  worker_id: string | null;
  exception: string | null;
  queued_at: string;
  started_at: string | null;
  completed_at: string | null;
  wait_ms: number | null;
  run_ms: number | null;
  data_size: number;
  payload_truncated: boolean;
  sanitized: boolean;
  retry_of: number | string | null;
}

// `nulls last` / `nulls first` spell out the indexes' order (drizzle creates them DESC NULLS LAST):
// a bare `desc` means NULLS FIRST and would turn every page into a sort of the whole table.
const ORDER: Record<JobSort, SQL> = {
  newest: sql.raw('queued_at desc nulls last, id desc nulls last'),
  oldest: sql.raw('queued_at asc nulls first, id asc nulls first'),
};

const OUTER_ORDER: Record<JobSort, SQL> = {
  newest: sql.raw('j.queued_at desc nulls last, j.id desc nulls last'),
  oldest: sql.raw('j.queued_at asc nulls first, j.id asc nulls first'),
};

const BRANCH_COLUMNS = sql.raw(
  'id, job_id, job_timestamp, queue, connection, name, status, attempts, max_attempts, worker_id, ' +
    'left(exception, 500) as exception, ' +
    'queued_at, started_at, completed_at, wait_ms, run_ms, data_size, payload_truncated, sanitized, retry_of',
);

/** The list's columns, formatted; `j` is a set of rows with BRANCH_COLUMNS. */
export function jobColumns(): SQL {
  return sql`j.id, j.job_id, j.job_timestamp, j.queue, j.connection, j.name, j.status, j.attempts, j.max_attempts, j.worker_id,
    j.exception, ${isoText(sql`j.queued_at`)} as queued_at, ${isoText(sql`j.started_at`)} as started_at,
    ${isoText(sql`j.completed_at`)} as completed_at, j.wait_ms, j.run_ms, j.data_size, j.payload_truncated, j.sanitized, j.retry_of`;
}

/**
 * One page of jobs, newest or oldest first, by key. Every shape of filter walks an index in order
 * and stops after a page: status → watchtower_jobs_status_recent, queue + status →
 * watchtower_jobs_queue_status_recent, nothing → watchtower_jobs_recent, a search → the search
 * index (after a short ordered walk, see SEARCH_WALK). A queue without a status is a merge of one
 * ordered walk per status (Postgres 15 cannot skip over the status column by itself). Connection
 * and time filters narrow the walk they ride on.
 */
export async function listJobs(
  db: StatementDatabase,
  filter: JobListFilter,
): Promise<{ jobs: JobSummary[]; nextCursor: string | null }> {
  const walk = searchWalkSql(filter);
  if (walk !== undefined) {
    const walked = await query<JobPageRow>(db, walk);
    if (walked.length > filter.limit) return toJobPage(walked, filter.limit);
  }
  return toJobPage(await query<JobPageRow>(db, jobPageSql(filter)), filter.limit);
}

export type JobPageRow = JobRow & { cursor_at: string };

/**
 * A search first reads this many rows of the filter's ordered index walk and tests the term on
 * each (against the stored search_vector, about half a microsecond a row); only when they hold
 * less than a page of matches does it turn to the search index.
 *
 * The index finds a rare term at once, but a common one makes it fetch and sort every match: on
 * 1M rows (test/bench/api.bench.ts), "card declined" (15,055 matches) took 52 ms warm that way and
 * 2.5 ms by the ordered walk, which stops after a page of matches. The walk covers terms in about
 * one job in SEARCH_WALK / 50 or more; a rarer term pays the walk (a few ms) on top of the lookup.
 */
export const SEARCH_WALK = 5000;

/**
 * The search's first try, when there is one: the matches among the first SEARCH_WALK rows of the
 * filter's one ordered index walk (a merge of several walks, a queue without a status, has no
 * single order to stop in). When it holds a page and one more row, that is the page.
 *
 * A statement of its own rather than a branch of the indexed one: Postgres plans and JIT-compiles
 * every branch, and for a common term the planner prices the unused indexed branch at a sort of
 * the whole table, past jit_above_cost: 40 ms of compiling for a 0.3 ms walk. A rare term pays a
 * second round trip instead.
 */
export function searchWalkSql(filter: JobListFilter): SQL | undefined {
  if (filter.search === undefined || !walksOne(filter)) return undefined;
  const take = filter.limit + 1;
  const walked = sql`select ${BRANCH_COLUMNS} from (${branch(filter, filter.status, undefined, SEARCH_WALK, sql`*`)}) w
                     where ${jobMatches(filter.search)} order by ${ORDER[filter.sort]} limit ${take}`;
  return sql`select ${jobColumns()}, ${isoMicros(sql`j.queued_at`)} as cursor_at
             from (${walked}) j order by ${OUTER_ORDER[filter.sort]}`;
}

/** The statement behind listJobs: the page plus one row (which says whether there is a next page). */
export function jobPageSql(filter: JobListFilter): SQL {
  const take = filter.limit + 1;
  const search = filter.search === undefined ? undefined : jobMatches(filter.search);
  const branches = statusesOf(filter).map((status) =>
    // After a walk that found less than a page the term is rare: find all its matches.
    search !== undefined && walksOne(filter)
      ? searched(filter, status, search, take)
      : branch(filter, status, search, take),
  );
  return sql`select ${jobColumns()}, ${isoMicros(sql`j.queued_at`)} as cursor_at
             from (${sql.join(branches, sql` union all `)}) j
             order by ${OUTER_ORDER[filter.sort]} limit ${take}`;
}

/** Whether the filter is served by one ordered index walk (not a merge of one per status). */
function walksOne(filter: JobListFilter): boolean {
  return statusesOf(filter).length === 1;
}

/** One status, every status (a queue without a status: one ordered walk each), or none. */
function statusesOf(filter: JobListFilter): readonly (JobStatus | undefined)[] {
  return filter.status ? [filter.status] : filter.queue !== undefined ? JOB_STATUSES : [undefined];
}

/** One ordered index walk: the filter, one status (or none), an extra condition, the first `rows`. */
function branch(
  filter: JobListFilter,
  status: JobStatus | undefined,
  extra: SQL | undefined,
  rows: number,
  columns: SQL = BRANCH_COLUMNS,
): SQL {
  const conditions = branchConditions(filter, status, extra);
  const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
  return sql`(select ${columns} from watchtower_jobs ${where} order by ${ORDER[filter.sort]} limit ${rows})`;
}

export function branchConditions(
  filter: JobListFilter,
  status: JobStatus | undefined,
  extra: SQL | undefined,
): SQL[] {
  const conditions = commonConditions(filter);
  if (filter.queue !== undefined) conditions.push(sql`queue = ${filter.queue}`);
  if (status !== undefined) conditions.push(sql`status = ${status}`);
  if (extra !== undefined) conditions.push(extra);
  return conditions;
}

/**
 * Every match of a search in one status (or none), then the first `rows` of them in order. Only
 * reached after the ordered walk found less than a page: the term is rare, so the matches are few
 * and the search index finds them at once. Left to itself the planner may instead walk the ordered
 * index and test each row, which reads the whole table for a rare term: it cannot tell rare from
 * common (it guessed 20,000 matches for a job id that has one, and walked 1M rows in 1.1 s).
 * `offset 0` keeps the order and limit out of the inner query, so it is planned as "find all
 * matches".
 */
function searched(filter: JobListFilter, status: JobStatus | undefined, search: SQL, rows: number): SQL {
  const conditions = branchConditions(filter, status, search);
  return sql`(select * from (select ${BRANCH_COLUMNS} from watchtower_jobs where ${sql.join(conditions, sql` and `)} offset 0) m
              order by ${ORDER[filter.sort]} limit ${rows})`;
}

export function toJobPage(
  rows: readonly JobPageRow[],
  limit: number,
): { jobs: JobSummary[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const nextCursor =
    rows.length > limit && last ? encodeJobCursor({ queuedAt: last.cursor_at, id: Number(last.id) }) : null;
  return { jobs: page.map(toJobSummary), nextCursor };
}

function commonConditions(filter: JobListFilter): SQL[] {
  const conditions: SQL[] = [];
  if (filter.connection !== undefined) conditions.push(sql`connection = ${filter.connection}`);
  if (filter.name !== undefined) conditions.push(nameEquals(filter.name));
  if (filter.from !== undefined) conditions.push(sql`queued_at >= ${filter.from}::timestamptz`);
  if (filter.to !== undefined) conditions.push(sql`queued_at < ${filter.to}::timestamptz`);
  if (filter.failedAfter !== undefined) {
    conditions.push(sql`coalesce(completed_at, updated_at) >= ${filter.failedAfter}::timestamptz`);
  }
  if (filter.failedBefore !== undefined) {
    conditions.push(sql`coalesce(completed_at, updated_at) < ${filter.failedBefore}::timestamptz`);
  }
  if (filter.cursor !== undefined) {
    const key = sql`(${filter.cursor.queuedAt}::timestamptz, ${filter.cursor.id}::bigint)`;
    conditions.push(filter.sort === 'newest' ? sql`(queued_at, id) < ${key}` : sql`(queued_at, id) > ${key}`);
  }
  return conditions;
}

export function toJobSummary(row: JobRow): JobSummary {
  return {
    id: Number(row.id),
    jobId: row.job_id,
    jobTimestamp: Number(row.job_timestamp),
    queue: row.queue,
    connection: row.connection,
    name: row.name,
    status: row.status,
    attempts: num(row.attempts),
    maxAttempts: num(row.max_attempts),
    workerId: row.worker_id,
    exception: row.exception,
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    waitMs: numOrNull(row.wait_ms),
    runMs: numOrNull(row.run_ms),
    dataSize: num(row.data_size),
    payloadTruncated: row.payload_truncated === true,
    sanitized: row.sanitized === true,
    retryOf: numOrNull(row.retry_of),
  };
}
