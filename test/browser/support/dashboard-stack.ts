/**
 * LOCAL TEST TOOLING: the whole system as `npm start` runs it, for the browser tests: a fresh
 * database, the local stand-ins, the dashboard built, the Worker and its static assets in workerd
 * through `wrangler dev` (the same command line as `npm start`), and a real worker-host running
 * BullMQ jobs through real worker processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { ensureDevAdmin } from '../../../scripts/local-only/dev-admin';
import { wranglerDevArgs } from '../../../scripts/local-only/wrangler-dev';
import { createNodeDatabase } from '../../../worker-host/db/node-database';
import { testEnv } from '../../setup/test-env';
import { recreateDatabase } from '../../support/fresh-database';
import { type LocalStack, startLocalStack } from '../../support/local-stack';
import { buildWebInChild } from '../../support/web-build';
import {
  cliEnv,
  type HostProcess,
  repoRoot,
  scratchDir,
  startHost,
  uniqueName,
  writeConfig,
} from '../../worker-host/harness';

export interface DashboardStack {
  baseURL: string;
  databaseUrl: string;
  /** The admin the tests sign in as. */
  admin: { email: string; password: string };
  /** The bootstrap admin token, for API calls from the test itself. */
  adminToken: string;
  /** The queue the worker-host works on (BullMQ, real Redis). */
  queue: Queue;
  host: HostProcess;
  /** Runs one statement against the stack's database (to end sessions, for instance). */
  sql(text: string, values?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Each test file gets an empty database of its own (`<test database>_<name>`), made afresh each
 * run: counts on screen start from zero, and two files running at once never share one.
 */
function browserDatabaseUrl(name: string): string {
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `${url.pathname}_${name}`;
  return url.toString();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer 200 within 60 s:\n${output()}`);
}

export interface DashboardStackOptions {
  /** The supervisor's `tries`: runs allowed to a job that sets no attempts of its own (default 1). */
  tries?: number;
  /** The host's `recorder` section (worker-host/config/config-schema.ts), e.g. `{ maxPayloadBytes }`. */
  recorder?: { maxPayloadBytes?: number };
  /** The database to make afresh (default: `<test database>_<name>`); the browser bench names its own. */
  databaseUrl?: string;
  /** More connections for the host's configuration (it health-checks each one). */
  connections?: Record<string, { url: string }>;
  /** More of the host's `host` section, e.g. `{ healthInterval: 1 }`. */
  hostOptions?: Record<string, number>;
  /**
   * The host's `--labels`: with them it also takes supervisors kept in the database, from an empty
   * processors directory of its own (so any it is given is refused, which the page shows as drift).
   */
  labels?: string[];
  /**
   * Give the Worker and the host WATCHTOWER_ENCRYPTION_KEY (the test key), so connections with a
   * password can be kept in the database and opened by the host.
   */
  encryption?: boolean;
}

export async function startDashboardStack(
  name: string,
  options: DashboardStackOptions = {},
): Promise<DashboardStack> {
  const databaseUrl = options.databaseUrl ?? browserDatabaseUrl(name);
  const admin = { email: 'browser-admin@example.test', password: `pw-${uniqueName('admin')}` };
  const closers: Array<() => Promise<unknown> | unknown> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await Promise.resolve(closer()).catch(() => undefined);
  };
  try {
    let stack: LocalStack | undefined;
    await Promise.all([
      recreateDatabase(databaseUrl).then(() => ensureDevAdmin(databaseUrl, { ...admin, generated: false })),
      // The Node suites' global setup built it for this run; a bench builds it here. Either way the
      // tests see the current sources (the build never empties web/dist).
      process.env.WATCHTOWER_TEST_WEB_BUILT ? Promise.resolve() : buildWebInChild(),
      startLocalStack({
        relayPort: 0,
        upstashPort: 0,
        upstashToken: testEnv.upstashToken,
        redisUrl: testEnv.redisUrl,
      }).then((started) => {
        stack = started;
        closers.push(() => started.close());
      }),
    ]);
    if (!stack) throw new Error('the local stand-ins did not start');

    const [port, inspectorPort] = await Promise.all([freePort(), freePort()]);
    const state = mkdtempSync(join(tmpdir(), 'watchtower-wrangler-'));
    closers.push(() => rmSync(state, { recursive: true, force: true }));
    let output = '';
    const wrangler = spawn(
      join(repoRoot, 'node_modules/.bin/wrangler'),
      wranglerDevArgs({
        port,
        inspectorPort,
        persistTo: state,
        vars: {
          DATABASE_URL: databaseUrl,
          WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${stack.relayPort}`,
          WATCHTOWER_LOCAL_NEON_HTTP: stack.neonHttp,
          WATCHTOWER_COMMAND_BUS: 'database',
          UPSTASH_REDIS_REST_URL: stack.upstashUrl,
          UPSTASH_REDIS_REST_TOKEN: testEnv.upstashToken,
          WATCHTOWER_ADMIN_TOKEN: testEnv.adminToken,
          ...(options.encryption && { WATCHTOWER_ENCRYPTION_KEY: testEnv.encryptionKey }),
        },
      }),
      {
        cwd: repoRoot,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    wrangler.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    wrangler.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          if (wrangler.exitCode !== null || wrangler.signalCode !== null) return resolve();
          const force = setTimeout(() => wrangler.kill('SIGKILL'), 10_000);
          wrangler.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          wrangler.kill('SIGTERM');
        }),
    );
    const baseURL = `http://127.0.0.1:${port}`;

    const database = createNodeDatabase(databaseUrl, { max: 2 });
    closers.push(() => database.close());
    const scratch = scratchDir();
    closers.push(() => scratch.cleanup());
    const queueName = uniqueName('browser');
    const configPath = writeConfig(
      scratch.dir,
      [{ name: uniqueName('web'), queues: [queueName], tries: options.tries ?? 1 }],
      options.hostOptions,
      { ...(options.connections && { connections: options.connections }) },
    );
    if (options.recorder) {
      const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      writeFileSync(configPath, JSON.stringify({ ...config, recorder: options.recorder }));
    }
    const hostArgs: string[] = [];
    if (options.labels) {
      const processorsDir = join(scratch.dir, 'processors');
      mkdirSync(processorsDir);
      hostArgs.push(`--labels=${options.labels.join(',')}`, `--processors-dir=${processorsDir}`);
    }
    const [host] = await Promise.all([
      startHost(configPath, database.db, {
        env: cliEnv({
          DATABASE_URL: databaseUrl,
          ...(options.encryption && { WATCHTOWER_ENCRYPTION_KEY: testEnv.encryptionKey }),
        }),
        args: hostArgs,
      }),
      waitForHealth(`${baseURL}/api/health`, wrangler, () => output),
    ]);
    closers.push(() => host.stop(20_000));
    const queue = new Queue(queueName, { connection: { url: testEnv.redisUrl } });
    queue.on('error', () => undefined);
    closers.push(() => queue.close());

    return {
      baseURL,
      databaseUrl,
      admin,
      adminToken: testEnv.adminToken,
      queue,
      host,
      async sql(text, values = []) {
        await database.pool.query(text, values);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
