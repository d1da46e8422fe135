import { z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { jobMatches } from '../../core/db/job-search';
import { COUNT_CAP } from './job-stats';
import { branchConditions, type JobListFilter } from './list-jobs';
import { num, query } from './sql';

/**
 * How many failed jobs match the failed list's filter: what a bulk retry or delete with that filter
 * is about to touch, shown before the operator confirms it.
 *
 * Bounded like the Overview's counts (job-stats.ts): a walk of at most COUNT_CAP + 1 matching index
 * entries, so a million failed jobs cost what a thousand do. Past the cap the answer is a lower
 * bound ("1,000+"), never a made-up figure. No planner estimate here: pg_stats knows how many jobs
 * failed, not how many of them match a search or a time range.
 */
export const FailedCountSchema = z
  .object({
    count: z
      .number()
      .int()
      .openapi({ description: `Exact up to ${COUNT_CAP}; past it, ${COUNT_CAP}` }),
    certainty: z.enum(['exact', 'lower_bound']).openapi({
      description: `lower_bound: at least \`count\` jobs match (the count stops at ${COUNT_CAP}; show "1,000+")`,
    }),
  })
  .openapi('FailedCount');
export type FailedCount = z.infer<typeof FailedCountSchema>;

export type FailedCountFilter = Pick<
  JobListFilter,
  'queue' | 'connection' | 'name' | 'search' | 'failedAfter' | 'failedBefore'
>;

export async function countFailed(db: StatementDatabase, filter: FailedCountFilter): Promise<FailedCount> {
  const search = filter.search === undefined ? undefined : jobMatches(filter.search);
  const conditions = branchConditions({ ...filter, sort: 'newest', limit: COUNT_CAP }, 'failed', search);
  const where = sql.join(conditions, sql` and `);
  const take = COUNT_CAP + 1;
  // Without a search, the ORDER BY keeps the planner on the ordered status (or queue + status)
  // index, which stops at the cap. With one, `offset 0` plans the inner query as "find every
  // match" through the word index, and the limit stops reading them at the cap: ordered, the
  // planner may walk the whole status index testing each row for a rare term (see list-jobs.ts).
  const matches =
    filter.search === undefined
      ? sql`select 1 from watchtower_jobs where ${where} order by queued_at desc nulls last, id desc nulls last limit ${take}`
      : sql`select 1 from (select id from watchtower_jobs where ${where} offset 0) m limit ${take}`;
  const [row] = await query<{ n: number | string }>(db, sql`select count(*) as n from (${matches}) x`);
  const counted = num(row?.n);
  return counted > COUNT_CAP
    ? { count: COUNT_CAP, certainty: 'lower_bound' }
    : { count: counted, certainty: 'exact' };
}
