import { z } from '@hono/zod-openapi';
import { type SQL, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { PendingRequestSchema } from '../commands/pending-requests';
import { TimestampSchema } from '../schemas/common';
import { isoText, num, numOrNull, query } from './sql';

/** Recorded jobs counted per queue and state before the count stops and reads "1,000+". */
export const STATE_COUNT_CAP = 1000;
const STATE_KEYS = ['waiting', 'delayed', 'retrying'] as const;
type StateKey = (typeof STATE_KEYS)[number];

export const QueueSchema = z
  .object({
    connection: z.string(),
    queue: z.string(),
    depth: z.number().int().nullable().openapi({
      description: 'Waiting + delayed jobs, as a host last sampled it (null: no sample in 15 min)',
    }),
    depthAt: TimestampSchema.nullable().openapi({ description: 'The minute of that sample' }),
    processing: z.number().int().openapi({ description: 'Jobs running now, as recorded' }),
    lastHour: z.object({
      queued: z.number().int(),
      completed: z.number().int(),
      failed: z.number().int(),
      avgWaitMs: z.number().nullable().openapi({ description: 'Mean time from queued to started' }),
      maxWaitMs: z.number().nullable(),
      avgRunMs: z.number().nullable(),
    }),
    workers: z.object({ total: z.number().int(), running: z.number().int(), paused: z.number().int() }),
    states: z
      .object({
        waiting: z
          .number()
          .int()
          .openapi({ description: 'Recorded jobs waiting to run (BullMQ wait, prioritized)' }),
        delayed: z.number().int().openapi({ description: 'Recorded jobs delayed to a later time' }),
        retrying: z
          .number()
          .int()
          .openapi({ description: 'Recorded jobs that failed a try and wait for the next' }),
      })
      .openapi({
        description:
          `The queue's recorded jobs by state, from the same rows as the jobs list; each counted up to ` +
          `${STATE_COUNT_CAP} (see \`lowerBound\`). Running jobs are \`processing\`; finished ones, \`lastHour\`.`,
      }),
    lowerBound: z.array(z.enum(STATE_KEYS)).openapi({
      description: `Keys of \`states\` whose count stopped at ${STATE_COUNT_CAP}: at least that many (show "1,000+")`,
    }),
    oldestWaitingAt: TimestampSchema.nullable().openapi({
      description: 'When the longest-waiting recorded job was queued (null: none waiting)',
    }),
    paused: z.boolean().nullable().openapi({
      description:
        'Whether the queue is paused, as a host last confirmed it (the result of the newest queue.pause or queue.resume it carried out on the database bus); null: no host has said',
    }),
    pausedReportedAt: TimestampSchema.nullable().openapi({ description: 'When a host confirmed `paused`' }),
    pending: PendingRequestSchema.nullable().openapi({
      description: 'A queue.pause or queue.resume no host answered yet',
    }),
  })
  .openapi('Queue');
export type Queue = z.infer<typeof QueueSchema>;
export type QueueRow = Omit<Queue, 'pending'>;

interface Row {
  connection: string;
  queue: string;
  depth: number | string | null;
  depth_at: string | null;
  processing: number | string | null;
  queued: number | string | null;
  completed: number | string | null;
  failed: number | string | null;
  wait_sum: number | null;
  wait_max: number | null;
  run_sum: number | null;
  workers_total: number | string | null;
  workers_running: number | string | null;
  workers_paused: number | string | null;
  waiting: number | string | null;
  delayed: number | string | null;
  retrying: number | string | null;
  oldest_waiting_at: string | null;
  paused: boolean | null;
  paused_reported_at: string | null;
}

/**
 * At most STATE_COUNT_CAP + 1 of the queue's recorded jobs in one status: a walk of
 * watchtower_jobs_queue_status_recent in its order, which stops at the cap whatever the backlog.
 */
function cappedState(status: 'queued' | 'delayed' | 'retrying'): SQL {
  return sql`(select count(*) from (select 1 from watchtower_jobs j
      where j.queue = k.queue and j.status = ${status} and j.connection = k.connection
      order by j.queued_at desc, j.id desc limit ${STATE_COUNT_CAP + 1}) x)`;
}

// Stale `processing` rows of crashed hosts must not make this walk long.
const PROCESSING_CAP = 10_000;

/**
 * Every queue seen in the last hour's rollups, served by a live worker, or configured in a live
 * host's supervisor, with its latest depth sample and the last hour's figures. Reads minutes of
 * watchtower_metrics by its primary key (60 × queues rows), the workers table, the live hosts'
 * snapshots and the (small) set of processing jobs: never the whole jobs table. Per queue, its
 * recorded jobs by state are bounded walks of watchtower_jobs_queue_status_recent (the same rows
 * and statuses the jobs list and the poll's pending count read, so the pages agree), the oldest
 * waiting job is the far end of one of them, and the paused state is the host's answer to the
 * newest pause or resume (finished commands are kept WATCHTOWER_RETENTION_COMMANDS_DAYS, few).
 */
export async function listQueues(db: StatementDatabase): Promise<QueueRow[]> {
  const rows = await query<Row>(
    db,
    sql`with recent as (
          select connection, queue, sum(queued) as queued, sum(completed) as completed, sum(failed) as failed,
                 sum(wait_ms_sum) as wait_sum, max(wait_ms_max) as wait_max, sum(run_ms_sum) as run_sum
          from watchtower_metrics where minute >= date_trunc('minute', now()) - interval '59 minutes'
          group by connection, queue
        ), depth as (
          select distinct on (connection, queue) connection, queue, depth, minute
          from watchtower_metrics
          where minute >= date_trunc('minute', now()) - interval '15 minutes' and depth is not null
          order by connection, queue, minute desc
        ), live as (
          select connection, queue, count(*) as total, count(*) filter (where status = 'running') as running,
                 count(*) filter (where status = 'paused') as paused
          from watchtower_workers where status <> 'dead' and status <> 'stopped'
          group by connection, queue
        ), configured as (
          -- Gathered into one value first and expanded once: expanded per host, the planner guesses
          -- 100 × 100 pairs for every host row, and prices the per-queue figures below for all of
          -- them, far past jit_above_cost (seconds of JIT compiling for a statement of a few ms).
          select pair->>0 as connection, pair->>1 as queue
          from jsonb_array_elements((
            select coalesce(jsonb_agg(jsonb_build_array(coalesce(s.value->>'connection', 'default'), q.value #>> '{}')),
                            '[]'::jsonb)
            from watchtower_hosts h
            cross join lateral jsonb_array_elements(
              case when jsonb_typeof(h.supervisors) = 'array' then h.supervisors else '[]'::jsonb end) s
            cross join lateral jsonb_array_elements(
              case when jsonb_typeof(s.value->'queues') = 'array' then s.value->'queues' else '[]'::jsonb end) q
            where h.status <> 'dead' and h.status <> 'stopped' and jsonb_typeof(q.value) = 'string'
          )) pair
        ), processing as (
          select connection, queue, count(*) as n
          from (select connection, queue from watchtower_jobs where status = 'processing' limit ${PROCESSING_CAP}) p
          group by connection, queue
        ), paused as (
          -- What a host last confirmed: its answer to the newest pause or resume it carried out. One
          -- pass over the finished commands (kept WATCHTOWER_RETENTION_COMMANDS_DAYS), not one per queue.
          select distinct on (c.target_id, c.args->>'queue') c.target_id as connection, c.args->>'queue' as queue,
                 (c.result->>'paused')::boolean as paused, c.finished_at
          from watchtower_commands c
          where c.target_kind = 'connection' and c.status = 'done' and c.type in ('queue.pause', 'queue.resume')
            and jsonb_typeof(c.result->'paused') = 'boolean'
          order by c.target_id, c.args->>'queue', c.finished_at desc nulls last, c.seq desc
        ), keys as (
          select connection, queue from recent union select connection, queue from depth
          union select connection, queue from live union select connection, queue from configured
        )
        select k.connection, k.queue, d.depth,
               to_char(d.minute at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as depth_at,
               p.n as processing, r.queued, r.completed, r.failed, r.wait_sum, r.wait_max, r.run_sum,
               l.total as workers_total, l.running as workers_running, l.paused as workers_paused,
               ${cappedState('queued')} as waiting, ${cappedState('delayed')} as delayed,
               ${cappedState('retrying')} as retrying,
               (select ${isoText(sql`j.queued_at`)} from watchtower_jobs j
                where j.queue = k.queue and j.status = 'queued' and j.connection = k.connection
                order by j.queued_at, j.id limit 1) as oldest_waiting_at,
               pc.paused, ${isoText(sql`pc.finished_at`)} as paused_reported_at
        from keys k
        left join recent r using (connection, queue)
        left join depth d using (connection, queue)
        left join live l using (connection, queue)
        left join processing p using (connection, queue)
        left join paused pc using (connection, queue)
        order by k.queue, k.connection`,
  );
  return rows.map(toQueue);
}

function toQueue(row: Row): QueueRow {
  const finished = num(row.completed) + num(row.failed);
  const mean = (sum: number | null) =>
    finished > 0 && sum !== null ? Math.round(Number(sum) / finished) : null;
  return {
    connection: row.connection,
    queue: row.queue,
    depth: numOrNull(row.depth),
    depthAt: row.depth_at,
    processing: num(row.processing),
    lastHour: {
      queued: num(row.queued),
      completed: num(row.completed),
      failed: num(row.failed),
      avgWaitMs: mean(row.wait_sum),
      maxWaitMs: row.wait_max === null ? null : Number(row.wait_max),
      avgRunMs: mean(row.run_sum),
    },
    workers: {
      total: num(row.workers_total),
      running: num(row.workers_running),
      paused: num(row.workers_paused),
    },
    ...states(row),
    oldestWaitingAt: row.oldest_waiting_at,
    paused: row.paused,
    pausedReportedAt: row.paused_reported_at,
  };
}

/** The capped counts: a count past the cap is the cap, listed as a lower bound. */
function states(row: Row): Pick<QueueRow, 'states' | 'lowerBound'> {
  const lowerBound: StateKey[] = [];
  const capped = (key: StateKey, value: number | string | null) => {
    if (num(value) <= STATE_COUNT_CAP) return num(value);
    lowerBound.push(key);
    return STATE_COUNT_CAP;
  };
  return {
    states: {
      waiting: capped('waiting', row.waiting),
      delayed: capped('delayed', row.delayed),
      retrying: capped('retrying', row.retrying),
    },
    lowerBound,
  };
}

/**
 * Whether Watchtower knows the queue at all: a job recorded on it (the natural-key index's prefix),
 * a rollup, a worker or a supervisor. Commands for unknown queues answer 404 instead of waiting
 * for a host that will say "no such queue".
 */
export async function queueKnown(db: StatementDatabase, connection: string, queue: string): Promise<boolean> {
  const rows = await query<{ known: boolean }>(
    db,
    sql`select exists (select 1 from watchtower_jobs where connection = ${connection} and queue = ${queue})
          or exists (select 1 from watchtower_metrics where queue = ${queue} and connection = ${connection})
          or exists (select 1 from watchtower_workers where queue = ${queue} and connection = ${connection})
          or exists (select 1 from watchtower_hosts h
                     cross join lateral jsonb_array_elements(
                       case when jsonb_typeof(h.supervisors) = 'array' then h.supervisors else '[]'::jsonb end) s
                     where h.status <> 'dead' and h.status <> 'stopped'
                       and coalesce(s.value->>'connection', 'default') = ${connection}
                       and jsonb_typeof(s.value->'queues') = 'array' and s.value->'queues' ? ${queue}) as known`,
  );
  return rows[0]?.known === true;
}
