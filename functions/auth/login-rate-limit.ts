import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { loginAttempts, sessions } from '../../drizzle/schema';
import { HttpError } from '../http-error';
import { addressGroup } from './client-address';
import { sha256Hex } from './crypto';

/**
 * Login attempts counted in Postgres per fixed 15-minute window, BEFORE the password is checked:
 * one statement increments every counter of the attempt and returns the new counts, so however
 * many attempts run in parallel, at most the limit of them ever reach password verification.
 * A Worker has no memory shared across isolates, so the count lives where every isolate sees it.
 *
 * Three counters: per address and email (guessing one account's password), per address (trying
 * many accounts), per email across all addresses (a distributed guess at one account). Addresses
 * are grouped (IPv6 by /64, see client-address.ts). A successful login takes its attempt back.
 */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
export const LOGIN_LIMITS = {
  /** Attempts at one account from one address. */
  addressAccount: 10,
  /** Attempts from one address, whatever the account. */
  address: 100,
  /**
   * Attempts at one account from anywhere: higher than per address, so one attacker cannot lock
   * the owner out as cheaply, but still a hard ceiling on a guess spread over many addresses.
   */
  account: 50,
} as const;
/** Failed bearer tokens from one address per window before its requests get 429. */
export const BEARER_FAILURE_LIMIT = 20;

export type LoginKeyKind = keyof typeof LOGIN_LIMITS;
export type LoginKeys = Record<LoginKeyKind, string>;

/** Keys are hashes, so the table holds no emails or addresses. */
export async function loginKeys(ip: string | null, email: string): Promise<LoginKeys> {
  const address = addressGroup(ip);
  const account = email.toLowerCase();
  const [addressAccount, addressOnly, accountOnly] = await Promise.all([
    sha256Hex(`account\u0000${address}\u0000${account}`),
    sha256Hex(`ip\u0000${address}`),
    sha256Hex(`email\u0000${account}`),
  ]);
  return { addressAccount, address: addressOnly, account: accountOnly };
}

function windowStart(now: number): Date {
  return new Date(Math.floor(now / LOGIN_WINDOW_MS) * LOGIN_WINDOW_MS);
}

export interface Throttled {
  /** The counters past their limit. */
  over: LoginKeyKind[];
  /** True for the attempt that first went past a limit: the one refusal worth an audit row. */
  firstRefusal: boolean;
  retryAfterSeconds: number;
}

/**
 * Counts one login attempt on all its keys in one statement. Null when every count is within
 * its limit (the attempt may check the password), otherwise which limits it passed.
 */
export async function countLoginAttempt(
  db: StatementDatabase,
  keys: LoginKeys,
  now = Date.now(),
): Promise<Throttled | null> {
  const start = windowStart(now);
  const kinds = Object.keys(keys) as LoginKeyKind[];
  const rows = await incrementCounters(
    db,
    kinds.map((kind) => keys[kind]),
    start,
  );
  const over: LoginKeyKind[] = [];
  let firstRefusal = false;
  for (const kind of kinds) {
    const count = rows.get(keys[kind]) ?? 0;
    if (count > LOGIN_LIMITS[kind]) {
      over.push(kind);
      if (count === LOGIN_LIMITS[kind] + 1) firstRefusal = true;
    }
  }
  if (over.length === 0) return null;
  return { over, firstRefusal, retryAfterSeconds: retryAfter(start, now) };
}

async function incrementCounters(
  db: StatementDatabase,
  keys: string[],
  start: Date,
): Promise<Map<string, number>> {
  const rows = await db
    .insert(loginAttempts)
    .values(keys.map((key) => ({ key, windowStart: start, failures: 1 })))
    .onConflictDoUpdate({
      target: [loginAttempts.key, loginAttempts.windowStart],
      set: { failures: sql`${loginAttempts.failures} + 1` },
    })
    .returning({ key: loginAttempts.key, failures: loginAttempts.failures });
  return new Map(rows.map((row) => [row.key, row.failures]));
}

function retryAfter(start: Date, now: number): number {
  return Math.max(1, Math.ceil((start.getTime() + LOGIN_WINDOW_MS - now) / 1000));
}

/** 429 `too_many_requests` with Retry-After (seconds to the window's end). */
export function tooManyAttempts(message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(
    429,
    'too_many_requests',
    `${message}; try again in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

/**
 * A successful login forgets the attempts at its account (from this address and overall) and
 * gives the address its attempt back: only failures should count against it.
 */
export async function clearLoginAttempts(
  db: StatementDatabase,
  keys: LoginKeys,
  now = Date.now(),
): Promise<void> {
  await db.delete(loginAttempts).where(inArray(loginAttempts.key, [keys.addressAccount, keys.account]));
  await db
    .update(loginAttempts)
    .set({ failures: sql`greatest(${loginAttempts.failures} - 1, 0)` })
    .where(and(eq(loginAttempts.key, keys.address), eq(loginAttempts.windowStart, windowStart(now))));
}

/** The bearer-failure counter's key for an address, or null when the address is unknown. */
export async function bearerKey(ip: string | null): Promise<string | null> {
  // Behind Cloudflare every request has an address; without one (local tools, tests) there is
  // nothing to tell clients apart by, and one shared counter would let anyone lock out everyone.
  if (ip === null || ip === '') return null;
  return sha256Hex(`bearer\u0000${addressGroup(ip)}`);
}

/** 429 when the address already had BEARER_FAILURE_LIMIT failed tokens this window, else null. */
export async function bearerThrottled(
  db: StatementDatabase,
  key: string,
  now = Date.now(),
): Promise<HttpError | null> {
  const start = windowStart(now);
  const [row] = await db
    .select({ failures: loginAttempts.failures })
    .from(loginAttempts)
    .where(and(eq(loginAttempts.key, key), eq(loginAttempts.windowStart, start)))
    .limit(1);
  if ((row?.failures ?? 0) < BEARER_FAILURE_LIMIT) return null;
  return tooManyAttempts('Too many invalid tokens from this address', retryAfter(start, now));
}

/** Counts one failed bearer token: the new count (1: the window's first failure) and the wait. */
export async function countBearerFailure(
  db: StatementDatabase,
  key: string,
  now = Date.now(),
): Promise<{ failures: number; retryAfterSeconds: number }> {
  const start = windowStart(now);
  const rows = await incrementCounters(db, [key], start);
  return { failures: rows.get(key) ?? 0, retryAfterSeconds: retryAfter(start, now) };
}

/**
 * Counts one refused cross-site login from an address; true for the window's first, the only
 * one worth an audit row (anyone can send these, so one each would let them fill the log).
 */
export async function firstCrossSiteLogin(
  db: StatementDatabase,
  ip: string | null,
  now = Date.now(),
): Promise<boolean> {
  const key = await sha256Hex(`login-csrf\u0000${addressGroup(ip)}`);
  const rows = await incrementCounters(db, [key], windowStart(now));
  return rows.get(key) === 1;
}

/**
 * Housekeeping for the cron: rate-limit windows that ended, and sessions that ended more than a
 * day ago (kept that long so a "why was I logged out" question can still be answered).
 */
export async function pruneAuthState(db: StatementDatabase, now = Date.now()): Promise<void> {
  await db.delete(loginAttempts).where(lt(loginAttempts.windowStart, new Date(now - LOGIN_WINDOW_MS)));
  await db.delete(sessions).where(lt(sessions.expiresAt, new Date(now - 24 * 60 * 60 * 1000)));
}
