import { type SQL, sql } from 'drizzle-orm';
import { jobMatches, MIN_SEARCH_LENGTH } from '../../core/db/job-search';

/**
 * `name = X` implies that the job's words contain X. Saying so lets the planner find a rare name
 * through the search index instead of walking the whole recent-jobs index; for a common name it
 * keeps walking the ordered index.
 */
export function nameEquals(name: string): SQL {
  if (name.length < MIN_SEARCH_LENGTH) return sql`name = ${name}`;
  return sql`(name = ${name} and ${jobMatches(name)})`;
}
