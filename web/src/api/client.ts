import { hc, type InferRequestType, type InferResponseType } from 'hono/client';
// Types only: the Worker's code never reaches the browser bundle.
import type { AppType } from '../../../functions/index';
import { sessionEnded } from '../state/session-events';

/**
 * The API client, typed from the Worker's own route definitions: every path, query, body and answer
 * comes from the chained app's type, so there is no second copy of the API's shapes to drift.
 *
 * Every request goes through `watchedFetch`: a 401 from any route but the login itself means the
 * session ended (expired, signed out elsewhere, user disabled), which the app turns into the
 * sign-in page with a message, keeping the page's URL.
 */
export async function watchedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, { ...init, credentials: 'same-origin' });
  if (response.status === 401) {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url, location.href);
    if (url.pathname !== '/api/auth/login') sessionEnded();
  }
  return response;
}

export const api = hc<AppType>(location.origin, { fetch: watchedFetch });

export type PollBody = InferResponseType<typeof api.api.poll.$get, 200>;
export type JobStats = PollBody['stats'];
export type RecentJob = PollBody['recentJobs'][number];
export type PollWorker = PollBody['workers'][number];
export type MeBody = InferResponseType<typeof api.api.auth.me.$get, 200>;

/** The API's one error shape, read defensively: an answer may come from a proxy, not the Worker. */
export async function errorMessage(
  response: Pick<Response, 'status' | 'statusText' | 'json'>,
): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // not JSON
  }
  return `The server answered ${response.status} ${response.statusText}`.trim();
}

export type JobList = InferResponseType<(typeof api.api.jobs)['$get'], 200>;
export type JobSummary = JobList['jobs'][number];
export type JobDetail = InferResponseType<(typeof api.api.jobs)[':id']['$get'], 200>;
export type JobQuery = InferRequestType<(typeof api.api.jobs)['$get']>['query'];
export type MetricsBody = InferResponseType<(typeof api.api.metrics)['$get'], 200>;
