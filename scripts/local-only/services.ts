/**
 * LOCAL DEVELOPMENT TOOLING — never part of the production bundle.
 *
 * Makes sure the local Postgres and Redis that development and tests use are up, starting them when
 * they are installed here but stopped, and creates the test database. Services on another host are
 * only checked, never started.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';

const run = promisify(execFile);

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const READY_TIMEOUT_MS = 20_000;
const PROBE_TIMEOUT_MS = 2_000;

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Postgres answers a query at `url` (default: DATABASE_URL, else 127.0.0.1:5432). */
export async function ensurePostgres(url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL): Promise<void> {
  const target = parseServiceUrl(url, 5432);
  const probe = () => queryPostgres(maintenanceUrl(url));
  if (await isListening(target.host, target.port)) {
    // Listening but not answering yet: a local server may still be starting up.
    await waitUntilReady(`PostgreSQL at ${target.label}`, probe, target.local);
    return;
  }
  if (!target.local || target.port !== 5432) {
    throw new Error(
      `PostgreSQL is not reachable at ${target.label}. Start it there, or point DATABASE_URL elsewhere ` +
        '(only a local server on port 5432 is started automatically).',
    );
  }
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (versions.length === 0 || !(await hasCommand('pg_ctlcluster'))) {
    throw new Error(
      'PostgreSQL is not installed (no cluster in /etc/postgresql or no pg_ctlcluster). Install it with ' +
        '`apt-get install -y postgresql`, then start it with ' +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.',
    );
  }
  const version = versions.sort().at(-1)!;
  try {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
  } catch (error) {
    throw new Error(
      `PostgreSQL is down at ${target.label} and \`pg_ctlcluster --skip-systemctl-redirect ${version} main start\` ` +
        `failed: ${commandFailure(error)}`,
    );
  }
  await waitUntilReady(`PostgreSQL at ${target.label} (started with pg_ctlcluster)`, probe, true);
}

/** Redis answers PING at `url` (default: REDIS_URL, else 127.0.0.1:6379). */
export async function ensureRedis(url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL): Promise<void> {
  const target = parseServiceUrl(url, 6379);
  const probe = () => pingRedis(url);
  if (await isListening(target.host, target.port)) {
    await waitUntilReady(`Redis at ${target.label}`, probe, target.local);
    return;
  }
  if (!target.local) {
    throw new Error(
      `Redis is not reachable at ${target.label}. Start it there, or point REDIS_URL elsewhere.`,
    );
  }
  if (!(await hasCommand('redis-server'))) {
    throw new Error(
      'Redis is not installed (no redis-server on PATH). Install it with `apt-get install -y redis-server`, ' +
        `then start it with \`redis-server --daemonize yes --bind 127.0.0.1 -::1 --port ${target.port} --save "" ` +
        '--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`.',
    );
  }
  // redis-server refuses to start when its working or log directory is missing.
  for (const dir of ['/var/lib/redis', '/var/log/redis']) mkdirSync(dir, { recursive: true });
  const args = [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    String(target.port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    '/var/lib/redis',
    '--logfile',
    '/var/log/redis/ci.log',
  ];
  try {
    await run('redis-server', args);
  } catch (error) {
    throw new Error(
      `Redis is down at ${target.label} and redis-server failed to start: ${commandFailure(error)}`,
    );
  }
  await waitUntilReady(
    `Redis at ${target.label} (started with redis-server; see /var/log/redis/ci.log)`,
    probe,
    true,
  );
}

/** Creates the database named in `databaseUrl` unless it exists; safe against a concurrent create. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (name === '') throw new Error(`ensureDatabase: no database name in ${redact(databaseUrl)}`);
  const client = new pg.Client({ connectionString: maintenanceUrl(databaseUrl) });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rows.length > 0) return;
    await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
  } catch (error) {
    // 42P04: created meanwhile; 23505: two CREATEs raced on pg_database's unique index.
    const code = (error as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await client.end();
  }
}

interface ServiceTarget {
  host: string;
  port: number;
  local: boolean;
  label: string;
}

function parseServiceUrl(url: string, defaultPort: number): ServiceTarget {
  const parsed = new URL(url);
  const host = parsed.hostname === '' ? '127.0.0.1' : parsed.hostname;
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  const bare = host.replace(/^\[|\]$/g, '');
  const local = LOCAL_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(bare);
  return { host: bare, port, local, label: `${host}:${port}` };
}

/** The same server, but the `postgres` database, which exists before any of ours. */
function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

function isListening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Waiting cannot fix it (bad credentials, say): report it at once rather than after the timeout. */
class PermanentProbeError extends Error {}

async function queryPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  // A server shutting down mid-probe emits 'error' on the client; the query rejects anyway.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    // A SQLSTATE other than 57P03 (starting up or shutting down) is an answer, not a server still booting.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && code !== '57P03') {
      throw new PermanentProbeError(`${(error as Error).message} (SQLSTATE ${code})`);
    }
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

async function pingRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const reply = await redis.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${reply}`);
  } catch (error) {
    // LOADING means it is still reading its data set; any other error reply (NOAUTH...) will not pass.
    if (error instanceof Error && error.name === 'ReplyError' && !error.message.startsWith('LOADING')) {
      throw new PermanentProbeError(error.message);
    }
    throw error;
  } finally {
    redis.disconnect();
  }
}

/** Only a local server is waited for; another host is checked once ("only check, never start"). */
async function waitUntilReady(what: string, probe: () => Promise<void>, wait: boolean): Promise<void> {
  const deadline = Date.now() + (wait ? READY_TIMEOUT_MS : 0);
  let lastError: unknown;
  do {
    try {
      await probe();
      return;
    } catch (error) {
      if (error instanceof PermanentProbeError)
        throw new Error(`${what} refused the check: ${error.message}`);
      lastError = error;
      if (Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } while (Date.now() < deadline);
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  const within = wait ? ` within ${READY_TIMEOUT_MS / 1000} s` : '';
  throw new Error(`${what} accepts connections but did not answer${within}: ${reason}`);
}

async function hasCommand(name: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

function commandFailure(error: unknown): string {
  const stderr = (error as { stderr?: string }).stderr?.trim();
  if (stderr) return stderr;
  return error instanceof Error ? error.message : String(error);
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
