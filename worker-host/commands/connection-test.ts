import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { ConnectionTestResult } from '../../core/commands/command-types';
import { errorText, parseInfo, redisFacts } from '../health/health-sample';
import {
  COMMAND_TIMEOUT_MS,
  CONNECT_TIMEOUT_MS,
  type ConnectionRow,
  connectRedis,
  describeAddress,
  isAuthError,
  openConnectionSecret,
  type RedisClient,
  redisClient,
  SecretUnavailableError,
  withinTime,
} from './connection-client';

/**
 * `connection.test`: connects to one connection as a worker process would, measures a round trip
 * and reads what the server says of itself. Never throws for the connection's own faults: a
 * refused connection, a wrong password, a server that does not answer, a secret this host cannot
 * open are all an answer (`ok: false` and a one-line `error` without the secret).
 */
export async function testConnection(
  row: ConnectionRow,
  env: NodeJS.ProcessEnv,
): Promise<ConnectionTestResult> {
  let secret: string | undefined;
  try {
    secret = await openConnectionSecret(row, env);
  } catch (error) {
    if (error instanceof SecretUnavailableError) return failed(error.message);
    throw error;
  }
  try {
    return row.kind === 'postgres' ? await testPostgres(row, secret ?? '') : await testRedis(row, secret);
  } catch (error) {
    return failed(describeFailure(error, row, secret));
  }
}

/** Nothing is known of a server the test did not get through to, and it did not authenticate. */
function failed(error: string): ConnectionTestResult {
  return {
    ok: false,
    latencyMs: null,
    serverVersion: null,
    usedMemoryBytes: null,
    maxmemoryPolicy: null,
    authenticated: false,
    error,
  };
}

async function testRedis(row: ConnectionRow, password: string | undefined): Promise<ConnectionTestResult> {
  const client = redisClient(row, password, 'watchtower-test');
  try {
    return await withinTime(
      (async () => {
        await connectRedis(client);
        const started = performance.now();
        await client.ping();
        const latencyMs = roundMs(performance.now() - started);
        const facts = redisFacts(parseInfo(await info(client)));
        return {
          ok: true,
          latencyMs,
          serverVersion: facts.version,
          usedMemoryBytes: facts.usedMemory,
          maxmemoryPolicy: facts.policy,
          authenticated: true,
          error: null,
        };
      })(),
      COMMAND_TIMEOUT_MS,
      describeAddress(row),
    );
  } finally {
    client.disconnect();
  }
}

/** INFO with two sections needs Redis 7; some hosted Redis refuse INFO: then nothing is known. */
async function info(client: RedisClient): Promise<string> {
  try {
    return await client.info('server', 'memory');
  } catch {
    return client.info().catch(() => '');
  }
}

async function testPostgres(row: ConnectionRow, url: string): Promise<ConnectionTestResult> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: COMMAND_TIMEOUT_MS,
    application_name: 'watchtower-test',
  });
  client.on('error', () => undefined);
  try {
    return await withinTime(
      (async () => {
        await client.connect();
        const started = performance.now();
        await client.query('select 1');
        const latencyMs = roundMs(performance.now() - started);
        const version = await client.query<{ server_version: string }>('show server_version');
        return {
          ok: true,
          latencyMs,
          serverVersion: version.rows[0]?.server_version ?? null,
          usedMemoryBytes: null,
          maxmemoryPolicy: null,
          authenticated: true,
          error: null,
        };
      })(),
      COMMAND_TIMEOUT_MS,
      describeAddress(row),
    );
  } finally {
    void client.end().catch(() => undefined);
  }
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** One line saying what went wrong, in words an operator acts on, without the secret. */
export function describeFailure(error: unknown, row: ConnectionRow, secret: string | undefined): string {
  const code = (error as { code?: unknown } | null)?.code;
  const address = describeAddress(row);
  const detail = errorText(error, secret ?? '');
  if (isAuthError(error)) return `authentication failed at ${address}: ${detail}`;
  if (code === 'ECONNREFUSED') return `connection refused by ${address}: nothing accepts connections there`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found: ${address} (${detail})`;
  if (code === 'ETIMEDOUT' || /timed? ?out|no answer within/i.test(detail)) {
    return `${address} is unreachable: ${detail}`;
  }
  return `${address}: ${detail}`;
}
