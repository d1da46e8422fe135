import { type SQL, sql } from 'drizzle-orm';

/**
 * Job search, shared by the jobs and failed lists and the host's bulk failed-job commands, so a
 * list previews exactly the jobs a bulk retry or delete will touch. What matches is defined once,
 * in Postgres (drizzle/migrations/0011_jobs_search_functions.sql): words of the job id, name,
 * exception and the start of its data, each word of the term as a word or the start of one.
 */

/** Shorter terms are refused by the API: a one- or two-letter prefix matches most of the index. */
export const MIN_SEARCH_LENGTH = 3;

/** The job's words contain every word of `term` (watchtower_jobs_search, a GIN index, serves it). */
export function jobMatches(term: string): SQL {
  return sql`search_vector @@ watchtower_search_query(${term})`;
}
