import { type SQL, sql } from 'drizzle-orm';

/**
 * Job search, shared by the jobs and failed lists and the host's bulk failed-job commands, so a
 * list previews exactly the jobs a bulk retry or delete will touch. What matches is defined once,
 * in Postgres (drizzle/migrations/0011_jobs_search_functions.sql): every word of the term among
 * the words of the job id, name, exception and the start of its data (a word ending in `*` as the
 * start of one).
 */

/** Shorter terms are refused by the API, as they were when search was by trigrams. */
export const MIN_SEARCH_LENGTH = 3;

/** The job's words contain every word of `term` (watchtower_jobs_search, a GIN index, serves it). */
export function jobMatches(term: string): SQL {
  return sql`search_vector @@ watchtower_search_query(${term})`;
}
