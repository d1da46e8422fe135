import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { listQueues, type QueueRow } from '../queries/queues';
import { num, query } from '../queries/sql';
import { type Observation, param, type RuleToObserve, type RunReads, scopeKey, shown } from './observation';

/**
 * queue_wait, queue_depth, failure_rate and queue_stalled, from the figures GET /api/queues shows
 * (functions/queries/queues.ts: recorded jobs by state, the oldest waiting job) and the per-minute
 * rollups (watchtower_metrics) for counts over a window. Nothing here asks a host or a queue.
 */

function inScope(rule: RuleToObserve, queue: QueueRow): boolean {
  const { scope } = rule;
  switch (scope.type) {
    case 'all':
      return true;
    case 'connection':
      return scope.connection === queue.connection;
    case 'queue':
      return scope.connection === queue.connection && scope.queue === queue.queue;
    case 'host':
      return false;
  }
}

function subjectOf(queue: QueueRow): string {
  return `${queue.connection}/${queue.queue}`;
}

function scopesOf(queue: QueueRow): string[] {
  return [
    'all',
    scopeKey({ type: 'connection', connection: queue.connection }),
    scopeKey({ type: 'queue', connection: queue.connection, queue: queue.queue }),
  ];
}

/** Waiting jobs: the recorded count, or the host's depth sample once the count stopped at its cap. */
function waitingOf(queue: QueueRow): number {
  const recorded = queue.states.waiting;
  return queue.lowerBound.includes('waiting') ? Math.max(recorded, queue.depth ?? 0) : recorded;
}

function oldestWaitSeconds(queue: QueueRow, now: number): number {
  return queue.oldestWaitingAt === null ? 0 : Math.max(0, (now - Date.parse(queue.oldestWaitingAt)) / 1000);
}

interface WindowRow {
  connection: string;
  queue: string;
  completed: number | string | null;
  failed: number | string | null;
}

/** Completions and failures per queue over the last `minutes` minutes (the current one included). */
async function windowCounts(
  db: StatementDatabase,
  reads: RunReads,
  minutes: number,
): Promise<Map<string, { completed: number; failed: number }>> {
  const rows = await reads.once(`metrics window ${minutes}`, () =>
    query<WindowRow>(
      db,
      sql`select connection, queue, sum(completed) as completed, sum(failed) as failed
        from watchtower_metrics
        where minute >= date_trunc('minute', now()) - make_interval(mins => ${Math.max(0, Math.ceil(minutes) - 1)})
        group by connection, queue`,
    ),
  );
  return new Map(
    rows.map((row) => [
      `${row.connection}/${row.queue}`,
      { completed: num(row.completed), failed: num(row.failed) },
    ]),
  );
}

export async function observeQueues(
  db: StatementDatabase,
  rule: RuleToObserve,
  reads: RunReads,
  now: number,
): Promise<Observation[]> {
  const queues = (await reads.once('queues', () => listQueues(db))).filter((queue) => inScope(rule, queue));
  const base = (queue: QueueRow) => ({ subject: subjectOf(queue), scopes: scopesOf(queue) });
  switch (rule.kind) {
    case 'queue_wait': {
      const seconds = param(rule, 'seconds');
      return queues.map((queue) => {
        const wait = oldestWaitSeconds(queue, now);
        return {
          ...base(queue),
          bad: wait > seconds,
          value: Math.round(wait),
          message: `Queue ${subjectOf(queue)}: the oldest waiting job has waited ${Math.round(wait)} s (threshold ${seconds} s)`,
        };
      });
    }
    case 'queue_depth': {
      const limit = param(rule, 'waiting');
      return queues.map((queue) => {
        const waiting = waitingOf(queue);
        return {
          ...base(queue),
          bad: waiting > limit,
          value: waiting,
          message: `Queue ${subjectOf(queue)}: ${waiting} jobs waiting (threshold: more than ${limit})`,
        };
      });
    }
    case 'failure_rate': {
      const percent = param(rule, 'percent');
      const minJobs = param(rule, 'minJobs');
      const minutes = param(rule, 'minutes');
      const counts = await windowCounts(db, reads, minutes);
      return queues.map((queue) => {
        const { completed, failed } = counts.get(subjectOf(queue)) ?? { completed: 0, failed: 0 };
        const total = completed + failed;
        const rate = total === 0 ? 0 : (failed / total) * 100;
        return {
          ...base(queue),
          bad: total >= minJobs && rate > percent,
          value: Math.round(rate * 10) / 10,
          message: `Queue ${subjectOf(queue)}: ${shown(rate)} % of ${total} jobs failed in the last ${minutes} min (threshold: over ${percent} % of at least ${minJobs})`,
        };
      });
    }
    case 'queue_stalled': {
      const minutes = param(rule, 'minutes');
      const counts = await windowCounts(db, reads, minutes);
      return queues.map((queue) => {
        const completed = counts.get(subjectOf(queue))?.completed ?? 0;
        const waiting = waitingOf(queue);
        const wait = oldestWaitSeconds(queue, now);
        // Jobs have waited the whole window and none completed in it.
        const bad = waiting > 0 && wait > minutes * 60 && completed === 0;
        return {
          ...base(queue),
          bad,
          value: completed,
          message: bad
            ? `Queue ${subjectOf(queue)}: no job completed in ${minutes} min while ${waiting} wait`
            : `Queue ${subjectOf(queue)}: ${completed} jobs completed in the last ${minutes} min, ${waiting} waiting`,
        };
      });
    }
    default:
      throw new Error(`${rule.kind} is not a queue rule`);
  }
}
