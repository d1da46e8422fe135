import { type SQL, sql } from 'drizzle-orm';
import { containsPattern } from './sql';

/**
 * Text search over jobs. Each expression here is, character for character, the expression of a
 * trigram index in drizzle/schema/jobs.ts: Postgres uses an expression index only for the same
 * expression, so change them together.
 */

/** `watchtower_jobs_search_trgm`: job id, name and exception. */
const IDENTITY_TEXT = sql.raw(`(job_id || ' ' || name || ' ' || coalesce(exception, ''))`);

/** `watchtower_jobs_data_trgm`: the start of the payload's JSON text (capped so big payloads index cheaply). */
export const DATA_SEARCH_CHARS = 256;
const DATA_TEXT = sql.raw(`left(payload::text, ${DATA_SEARCH_CHARS})`);

/** Trigrams need three characters; shorter terms could only be answered by reading every row. */
export const MIN_SEARCH_LENGTH = 3;

/** Job id, name and exception contain `term` (case-insensitive): what the bulk failed commands match too. */
export function identityContains(term: string): SQL {
  return sql`${IDENTITY_TEXT} ilike ${containsPattern(term)}`;
}

/** Job id, name, exception or the first DATA_SEARCH_CHARS characters of the data contain `term`. */
export function jobContains(term: string): SQL {
  const pattern = containsPattern(term);
  return sql`(${IDENTITY_TEXT} ilike ${pattern} or ${DATA_TEXT} ilike ${pattern})`;
}

/**
 * `name = X` implies that the identity text contains X. Saying so lets the planner find a rare
 * name through the trigram index instead of walking the whole recent-jobs index; for a common
 * name it keeps walking the ordered index (both plans checked with EXPLAIN on 1M rows).
 */
export function nameEquals(name: string): SQL {
  if (name.length < MIN_SEARCH_LENGTH) return sql`name = ${name}`;
  return sql`(name = ${name} and ${identityContains(name)})`;
}
