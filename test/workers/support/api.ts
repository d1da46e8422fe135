import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { Role } from '../../../functions/auth/actor';
import type { Env } from '../../../functions/env';
import worker from '../../../functions/index';

/**
 * Helpers for calling the Worker from the workerd tests. Tests share one database with other
 * suites running at the same time: name everything with `unique()` and never assume empty tables.
 */

export const ORIGIN = 'http://watchtower.test';

/** The bootstrap admin token the tests run with (test/setup/test-env.ts `adminToken`). */
export const adminToken: string = env.WATCHTOWER_ADMIN_TOKEN ?? '';

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Headers that authenticate as the bootstrap admin. */
export function adminHeaders(): Record<string, string> {
  return bearer(adminToken);
}

export function unique(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export function uniqueEmail(prefix = 'user'): string {
  return `${unique(prefix)}@example.test`.toLowerCase();
}

export interface CallInit extends Omit<RequestInit, 'body' | 'headers'> {
  headers?: Record<string, string>;
  /** Sent as JSON with `content-type: application/json`. */
  json?: unknown;
  body?: BodyInit | null;
  /** Bindings to change for this request only. */
  env?: Partial<Env>;
}

/**
 * One request to the Worker; the path is relative to ORIGIN. It calls the Worker's `fetch` with a
 * fresh execution context and waits for its `waitUntil` work (closing the request's database
 * pool), so nothing of one request lingers into the next. (`exports.default.fetch` works too, but
 * in vitest-pool-workers 0.15 each call through it gets slower the more calls came before: a
 * fuzz run of ~800 requests took 45 s through it and under 2 s this way.)
 */
export async function call(path: string, init: CallInit = {}): Promise<Response> {
  const { json, env: overrides, headers = {}, ...rest } = init;
  const requestInit: RequestInit = { ...rest, headers: { ...headers } };
  if (json !== undefined) {
    requestInit.body = JSON.stringify(json);
    (requestInit.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const request = new Request(`${ORIGIN}${path}`, requestInit);
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, overrides ? { ...env, ...overrides } : env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Asserts the one error shape and returns it (throws with the body when it is not). */
export async function errorOf(response: Response): Promise<ErrorBody['error']> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`expected a JSON error body, got ${response.status}: ${text.slice(0, 300)}`);
  }
  const error = (body as Partial<ErrorBody>).error;
  if (
    typeof error !== 'object' ||
    error === null ||
    typeof error.code !== 'string' ||
    typeof error.message !== 'string' ||
    Object.keys(body as object).length !== 1
  ) {
    throw new Error(`expected { error: { code, message } }, got ${response.status}: ${text.slice(0, 300)}`);
  }
  return error;
}

export interface CreatedToken {
  id: string;
  token: string;
  name: string;
  role: Role;
}

/** A fresh API token with `role`, created through the API by the bootstrap admin. */
export async function createToken(
  role: Role,
  options: { name?: string; expiresAt?: string } = {},
): Promise<CreatedToken> {
  const name = options.name ?? unique(`test-${role}`);
  const response = await call('/api/tokens', {
    method: 'POST',
    headers: adminHeaders(),
    json: { name, role, ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }) },
  });
  if (response.status !== 201)
    throw new Error(`creating a token: ${response.status} ${await response.text()}`);
  const body = await response.json<{ id: string; token: string }>();
  return { id: body.id, token: body.token, name, role };
}

export interface CreatedUser {
  id: string;
  email: string;
  password: string;
  role: Role;
}

/** A fresh user with a password, created through the API by the bootstrap admin. */
export async function createUser(
  role: Role,
  options: { email?: string; password?: string } = {},
): Promise<CreatedUser> {
  const email = options.email ?? uniqueEmail(role);
  const password = options.password ?? `pw-${crypto.randomUUID()}`;
  const response = await call('/api/users', {
    method: 'POST',
    headers: adminHeaders(),
    json: { email, name: `Test ${role}`, role, password },
  });
  if (response.status !== 201)
    throw new Error(`creating a user: ${response.status} ${await response.text()}`);
  const body = await response.json<{ id: string }>();
  return { id: body.id, email, password, role };
}

/**
 * Logs in and returns the session cookie (`wt_session=...`). Each call uses its own client ip
 * (CF-Connecting-IP) so rate-limit counters of different tests never meet.
 */
export async function login(email: string, password: string, ip = randomIp()): Promise<string> {
  const response = await call('/api/auth/login', {
    method: 'POST',
    headers: { 'cf-connecting-ip': ip, origin: ORIGIN },
    json: { email, password },
  });
  if (response.status !== 200) throw new Error(`login: ${response.status} ${await response.text()}`);
  return sessionCookieOf(response);
}

export function sessionCookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  const match = /(?:^|,\s*)wt_session=([^;]*)/.exec(header);
  if (!match?.[1]) throw new Error(`no wt_session cookie in ${JSON.stringify(header)}`);
  return `wt_session=${match[1]}`;
}

/** A documentation-range address (TEST-NET-2) unique enough per test. */
export function randomIp(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(2));
  return `198.51.${bytes[0]}.${bytes[1]}`;
}
