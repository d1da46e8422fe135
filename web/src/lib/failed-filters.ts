/**
 * The Failed page's filters, kept in the URL with the names GET /api/failed takes
 * (/failed?queue=emails&search=card_declined&failedAfter=...), so a filtered view can be linked,
 * reloaded and gone back to. Only known keys are read; values go to the API as they are, and the
 * API validates them.
 */
import type { FailedCountQuery, FailedQuery } from '../api/failed';

export type FailedFilters = FailedQuery;

type Sort = NonNullable<FailedQuery['sort']>;
const SORTS = ['newest', 'oldest'] as const satisfies readonly Sort[];

/** What selects the jobs (the bulk commands' filter), without paging and order. */
const MATCH_KEYS = ['queue', 'connection', 'name', 'search', 'failedAfter', 'failedBefore'] as const;
const KEYS = [...MATCH_KEYS, 'sort', 'limit', 'cursor'] as const;

export function readFailedFilters(query: Record<string, string>): FailedFilters {
  const text = (key: string) => query[key]?.trim() || undefined;
  const filters: FailedFilters = {
    queue: text('queue'),
    connection: text('connection'),
    name: text('name'),
    search: text('search'),
    failedAfter: text('failedAfter'),
    failedBefore: text('failedBefore'),
    sort: SORTS.find((sort) => sort === text('sort')),
    // The page size has no control; a link may set it (?limit=20).
    limit: text('limit'),
    cursor: text('cursor'),
  };
  // No undefined keys: the client would send them as "undefined".
  for (const key of KEYS) if (filters[key] === undefined) delete filters[key];
  return filters;
}

export function failedUrl(filters: FailedFilters): string {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  const search = params.toString();
  return search ? `/failed?${search}` : '/failed';
}

/** The connection a bulk command with this filter acts on: the API's rule (`connection`, or `default`). */
export function bulkConnection(filters: FailedFilters): string {
  return filters.connection ?? 'default';
}

/**
 * The filter a bulk command gets, and the count before it: the list's matching keys, on the one
 * connection the command acts on.
 */
export function bulkFilter(filters: FailedFilters): FailedCountQuery & { connection: string } {
  const filter: FailedCountQuery & { connection: string } = { connection: bulkConnection(filters) };
  for (const key of MATCH_KEYS) {
    const value = filters[key];
    if (value !== undefined) filter[key] = value;
  }
  return filter;
}

const LABELS: Record<(typeof MATCH_KEYS)[number], string> = {
  connection: 'connection',
  queue: 'queue',
  name: 'name',
  search: 'search',
  failedAfter: 'failed at or after',
  failedBefore: 'failed before',
};

/** The filter in words, for a confirmation: [label, value] pairs, times in local time. */
export function describeFilter(filter: FailedCountQuery): Array<[string, string]> {
  const parts: Array<[string, string]> = [];
  for (const key of MATCH_KEYS) {
    const value = filter[key];
    if (value === undefined) continue;
    const time = key === 'failedAfter' || key === 'failedBefore' ? Date.parse(value) : Number.NaN;
    parts.push([LABELS[key], Number.isNaN(time) ? value : new Date(time).toLocaleString()]);
  }
  return parts;
}
