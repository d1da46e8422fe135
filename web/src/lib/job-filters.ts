/**
 * The Jobs page's filters, kept in the URL (?status=failed&queue=emails&q=...), so a filtered view
 * can be linked, reloaded and gone back to. Only known keys are read; values go to the API as they
 * are, and the API validates them.
 */
import type { JobQuery } from '../api/client';

type Status = NonNullable<JobQuery['status']>;
type Sort = NonNullable<JobQuery['sort']>;

export const JOB_STATUSES = [
  'queued',
  'delayed',
  'processing',
  'completed',
  'failed',
  'retrying',
  'deleted',
] as const satisfies readonly Status[];
const SORTS = ['newest', 'oldest'] as const satisfies readonly Sort[];

export const FILTER_KEYS = [
  'status',
  'queue',
  'connection',
  'name',
  'from',
  'to',
  'q',
  'sort',
  'limit',
  'cursor',
] as const;
/** The list route's own query type. */
export type JobFilters = JobQuery;

function oneOf<T extends string>(allowed: readonly T[], value: string | undefined): T | undefined {
  return allowed.find((item) => item === value);
}

export function readFilters(query: Record<string, string>): JobFilters {
  const text = (key: string) => query[key]?.trim() || undefined;
  const filters: JobFilters = {
    status: oneOf(JOB_STATUSES, text('status')),
    queue: text('queue'),
    connection: text('connection'),
    name: text('name'),
    from: text('from'),
    to: text('to'),
    q: text('q'),
    sort: oneOf(SORTS, text('sort')),
    // The page size has no control; a link may set it (?limit=20).
    limit: text('limit'),
    cursor: text('cursor'),
  };
  // No undefined keys: the client would send them as "undefined".
  for (const key of FILTER_KEYS) if (filters[key] === undefined) delete filters[key];
  return filters;
}

export function filtersUrl(filters: JobFilters): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  const search = params.toString();
  return search ? `/jobs?${search}` : '/jobs';
}

/** An ISO time from the URL as a datetime-local input's value (local time), or '' when unreadable. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return '';
  const local = new Date(time.getTime() - time.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** A datetime-local value (local time) as an ISO time for the API, or undefined when empty. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}
