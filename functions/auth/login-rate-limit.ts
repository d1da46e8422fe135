import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { loginAttempts, sessions } from '../../drizzle/schema';
import { HttpError } from '../http-error';
import { sha256Hex } from './crypto';

/**
 * Failed logins counted in Postgres per fixed 15-minute window: per ip and email (guessing one
 * account's password) and per ip alone (trying many accounts). A Worker has no memory shared
 * across isolates, so the count lives where every isolate sees it.
 */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const MAX_FAILURES_PER_ACCOUNT = 10;
export const MAX_FAILURES_PER_IP = 100;

export interface LoginKeys {
  account: string;
  ip: string;
}

/** Keys are hashes, so the table holds no emails or addresses. */
export async function loginKeys(ip: string | null, email: string): Promise<LoginKeys> {
  const address = ip ?? 'unknown';
  const [account, ipOnly] = await Promise.all([
    sha256Hex(`account\u0000${address}\u0000${email.toLowerCase()}`),
    sha256Hex(`ip\u0000${address}`),
  ]);
  return { account, ip: ipOnly };
}

function windowStart(now: number): Date {
  return new Date(Math.floor(now / LOGIN_WINDOW_MS) * LOGIN_WINDOW_MS);
}

/** 429 `too_many_requests` with Retry-After (seconds to the window's end) once a limit is reached. */
export async function assertLoginAllowed(
  db: StatementDatabase,
  keys: LoginKeys,
  now = Date.now(),
): Promise<void> {
  const start = windowStart(now);
  const rows = await db
    .select({ key: loginAttempts.key, failures: loginAttempts.failures })
    .from(loginAttempts)
    .where(and(inArray(loginAttempts.key, [keys.account, keys.ip]), eq(loginAttempts.windowStart, start)));
  const failures = (key: string) => rows.find((row) => row.key === key)?.failures ?? 0;
  if (failures(keys.account) < MAX_FAILURES_PER_ACCOUNT && failures(keys.ip) < MAX_FAILURES_PER_IP) return;
  const retryAfter = Math.max(1, Math.ceil((start.getTime() + LOGIN_WINDOW_MS - now) / 1000));
  throw new HttpError(
    429,
    'too_many_requests',
    `Too many failed logins; try again in ${retryAfter} s`,
    { retryAfterSeconds: retryAfter },
    { 'Retry-After': String(retryAfter) },
  );
}

export async function recordLoginFailure(
  db: StatementDatabase,
  keys: LoginKeys,
  now = Date.now(),
): Promise<void> {
  const start = windowStart(now);
  await db
    .insert(loginAttempts)
    .values([
      { key: keys.account, windowStart: start, failures: 1 },
      { key: keys.ip, windowStart: start, failures: 1 },
    ])
    .onConflictDoUpdate({
      target: [loginAttempts.key, loginAttempts.windowStart],
      set: { failures: sql`${loginAttempts.failures} + 1` },
    });
}

/** A successful login forgets the account's failures (not the ip's: those count across accounts). */
export async function clearLoginFailures(db: StatementDatabase, keys: LoginKeys): Promise<void> {
  await db.delete(loginAttempts).where(eq(loginAttempts.key, keys.account));
}

/**
 * Housekeeping for the cron: rate-limit windows that ended, and sessions that ended more than a
 * day ago (kept that long so a "why was I logged out" question can still be answered).
 */
export async function pruneAuthState(db: StatementDatabase, now = Date.now()): Promise<void> {
  await db.delete(loginAttempts).where(lt(loginAttempts.windowStart, new Date(now - LOGIN_WINDOW_MS)));
  await db.delete(sessions).where(lt(sessions.expiresAt, new Date(now - 24 * 60 * 60 * 1000)));
}
