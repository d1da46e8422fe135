import { eq } from 'drizzle-orm';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import {
  CURRENT_KEY_VARIABLE,
  loadKeyRing,
  openSecret,
  PREVIOUS_KEY_VARIABLE,
} from '../../core/crypto/sealed-secrets';
import type { StatementDatabase } from '../../core/db/database';
import { type ConnectionKind, connections } from '../../drizzle/schema';

/**
 * A connection kept in the database, as a host reaches it for a one-off command (test, discover):
 * its row read from Postgres, its secret opened with this host's WATCHTOWER_ENCRYPTION_KEY (or
 * _PREVIOUS), and a client of its own with short timeouts and no retries, so a server that is
 * gone answers "down" within seconds instead of being retried behind the command's back.
 */

/** Connecting gives up after this: an unreachable server must not hold the command for long. */
export const CONNECT_TIMEOUT_MS = 2_000;
/** The whole check gives up after this (a server that accepts but never answers). */
export const COMMAND_TIMEOUT_MS = 5_000;

export type ConnectionRow = typeof connections.$inferSelect;

/** The secret did not open (no key on this host, or another key): said without the secret. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

export async function readConnection(db: StatementDatabase, id: string): Promise<ConnectionRow> {
  const rows = await db.select().from(connections).where(eq(connections.id, id)).limit(1);
  const row = rows[0];
  if (!row) throw new Error(`no connection ${id} (it may have been deleted)`);
  return row;
}

/** The row's secret in clear (a Redis password, or a Postgres URL); undefined when it has none. */
export async function openConnectionSecret(
  row: ConnectionRow,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const field = row.kind === 'postgres' ? 'url' : 'password';
  const sealed = field === 'url' ? row.urlSealed : row.passwordSealed;
  if (!sealed) {
    if (field === 'url') throw new SecretUnavailableError(`connection ${row.name} has no URL`);
    return undefined;
  }
  let ring: Awaited<ReturnType<typeof loadKeyRing>>;
  try {
    ring = await loadKeyRing({ current: env[CURRENT_KEY_VARIABLE], previous: env[PREVIOUS_KEY_VARIABLE] });
  } catch (error) {
    throw new SecretUnavailableError(
      `the ${field} of connection ${row.name} cannot be opened here: ${(error as Error).message}`,
    );
  }
  if (!ring) {
    throw new SecretUnavailableError(
      `the ${field} of connection ${row.name} is sealed, and ${CURRENT_KEY_VARIABLE} is not set on this host`,
    );
  }
  try {
    return await openSecret(ring, sealed, connectionSecretContext(row.id, field));
  } catch (error) {
    throw new SecretUnavailableError(
      `the ${field} of connection ${row.name} does not open with this host's ${CURRENT_KEY_VARIABLE} or ${PREVIOUS_KEY_VARIABLE}: ${(error as Error).message}`,
    );
  }
}

export type RedisKind = Exclude<ConnectionKind, 'postgres'>;
export type RedisClient = Redis | Cluster;

/** Where the row points, without credentials: for messages. */
export function describeAddress(row: ConnectionRow): string {
  if (row.kind === 'postgres') return `connection ${row.name}`;
  if (row.kind === 'redis') return `${row.host ?? '?'}:${row.port ?? 6379}`;
  const nodes = (row.nodes ?? []).map((node) => `${node.host}:${node.port}`).join(', ');
  return row.kind === 'redis-sentinel' ? `sentinels ${nodes} (${row.sentinelName ?? '?'})` : `nodes ${nodes}`;
}

/** A client for a Redis kind, not yet connected (`connect()` does it, within CONNECT_TIMEOUT_MS). */
export function redisClient(row: ConnectionRow, password: string | undefined, name: string): RedisClient {
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // No retries and no offline queue: a command on a broken connection fails at once.
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectionName: name,
    ...(row.username ? { username: row.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(row.tls ? { tls: {} } : {}),
  };
  if (row.kind === 'redis-cluster') {
    return new Cluster(row.nodes ?? [], {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      redisOptions: common,
    });
  }
  if (row.kind === 'redis-sentinel') {
    return new Redis({
      ...common,
      sentinels: row.nodes ?? [],
      name: row.sentinelName ?? 'mymaster',
      db: row.db ?? 0,
      sentinelRetryStrategy: () => null,
    });
  }
  return new Redis({ ...common, host: row.host ?? '127.0.0.1', port: row.port ?? 6379, db: row.db ?? 0 });
}

/**
 * Connects, rejecting with the socket's own error (ECONNREFUSED, WRONGPASS) rather than ioredis's
 * "Connection is closed." that follows it.
 */
export async function connectRedis(client: RedisClient): Promise<void> {
  let cause: unknown;
  client.on('error', (error: unknown) => {
    cause ??= error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw preferred(cause, error);
  }
}

/** An authentication error explains more than the connection closing after it. */
function preferred(cause: unknown, error: unknown): unknown {
  if (isAuthError(error)) return error;
  return cause ?? error;
}

export function isAuthError(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /WRONGPASS|NOAUTH|invalid password|invalid username-password|password authentication failed|\bAUTH\b.*(?:called|failed)/i.test(
    text,
  );
}

/** Rejects after `ms` with a message saying so; the timer never keeps the process alive. */
export async function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
