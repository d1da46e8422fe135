/**
 * `npm start`: the whole system locally, with a demo.
 *
 * Postgres and Redis (started if installed but down), the database migrated, the local-only
 * stand-ins for Neon's WebSocket proxy, Neon's HTTP endpoint and Upstash's REST API, the dashboard assets built, the
 * Cloudflare Worker in workerd through `wrangler dev`, and a worker-host running the demo queues
 * with a producer adding jobs. Ctrl-C stops everything.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { migrateDatabase } from '../drizzle/migrate';
import { MIN_ADMIN_TOKEN_LENGTH } from '../functions/config';
import { buildWeb } from './build-web';
import { devAdminFromEnv, ensureDevAdmin } from './local-only/dev-admin';
import { startNeonHttp } from './local-only/neon-http';
import { startNeonRelay } from './local-only/neon-relay';
import { ensureDatabase, ensurePostgres, ensureRedis } from './local-only/services';
import { startUpstashRest } from './local-only/upstash-rest';
import { wranglerDevArgs } from './local-only/wrangler-dev';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const env = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/watchtower',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  port: Number(process.env.PORT ?? 8787),
  relayPort: Number(process.env.WATCHTOWER_LOCAL_NEON_RELAY_PORT ?? 5488),
  upstashPort: Number(process.env.WATCHTOWER_LOCAL_UPSTASH_PORT ?? 8079),
  // Only the Worker started here talks to it, so by default any free port.
  neonHttpPort: Number(process.env.WATCHTOWER_LOCAL_NEON_HTTP_PORT ?? 0),
  upstashToken: process.env.UPSTASH_REDIS_REST_TOKEN ?? 'local-dev-token',
  bus: process.env.WATCHTOWER_COMMAND_BUS ?? 'database',
  adminToken: process.env.WATCHTOWER_ADMIN_TOKEN ?? 'wt_local_admin_token_change_me_before_deploying',
  // A fixed local key (base64 of 32 bytes), so connection secrets saved locally open after a restart.
  encryptionKey: process.env.WATCHTOWER_ENCRYPTION_KEY ?? 'bG9jYWwtZGV2LWtleS1jaGFuZ2UtbWUtYmVmb3JlLWQ=',
  encryptionKeyPrevious: process.env.WATCHTOWER_ENCRYPTION_KEY_PREVIOUS ?? '',
};

const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];
let stopping = false;

async function main(): Promise<void> {
  // The Worker would answer every authenticated request `misconfigured`: say so before starting.
  if (env.adminToken.trim().length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(
      `WATCHTOWER_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters (it has ${env.adminToken.trim().length}); generate one with \`openssl rand -base64 32\``,
    );
  }
  step('Checking Postgres and Redis');
  await Promise.all([ensurePostgres(env.databaseUrl), ensureRedis(env.redisUrl)]);
  await ensureDatabase(env.databaseUrl);
  const { applied } = await migrateDatabase(env.databaseUrl);
  step(applied ? `Applied ${applied} migration(s)` : 'Database is up to date');
  const admin = devAdminFromEnv(process.env);
  await ensureDevAdmin(env.databaseUrl, admin);

  const relay = await startNeonRelay({ port: env.relayPort });
  closers.push(relay.close);
  const upstash = await startUpstashRest({
    port: env.upstashPort,
    token: env.upstashToken,
    redisUrl: env.redisUrl,
  });
  closers.push(upstash.close);
  const neonHttp = await startNeonHttp({ port: env.neonHttpPort });
  closers.push(neonHttp.close);
  step(
    `Local-only stand-ins: Neon relay on :${relay.port}, Neon HTTP on ${neonHttp.endpoint}, Upstash REST on ${upstash.url}`,
  );

  await buildWeb();
  step('Built the dashboard assets');

  const wrangler = start(
    'worker',
    './node_modules/.bin/wrangler',
    wranglerDevArgs({
      port: env.port,
      vars: {
        DATABASE_URL: env.databaseUrl,
        WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${relay.port}`,
        WATCHTOWER_LOCAL_NEON_HTTP: `127.0.0.1:${neonHttp.port}`,
        WATCHTOWER_COMMAND_BUS: env.bus,
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: env.upstashToken,
        WATCHTOWER_ADMIN_TOKEN: env.adminToken,
        WATCHTOWER_ADMIN_EMAIL: admin.email,
        WATCHTOWER_ADMIN_PASSWORD: admin.password,
        WATCHTOWER_ENCRYPTION_KEY: env.encryptionKey,
        ...(env.encryptionKeyPrevious && { WATCHTOWER_ENCRYPTION_KEY_PREVIOUS: env.encryptionKeyPrevious }),
      },
    }),
    // Local only: no metrics to Cloudflare, and no fetch of `Request.cf` from workers.cloudflare.com
    // (the Worker reads none of it; offline, that fetch printed an error at every start).
    { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  );
  await waitForHealth(`http://127.0.0.1:${env.port}/api/health`, wrangler);
  step(`Dashboard and API on http://127.0.0.1:${env.port} (API admin token: ${env.adminToken})`);
  step(
    admin.generated
      ? `Sign in at http://127.0.0.1:${env.port} as ${admin.email} with password ${admin.password} ` +
          '(a demo admin with a new password each start; set WATCHTOWER_ADMIN_EMAIL and WATCHTOWER_ADMIN_PASSWORD to choose)'
      : `Sign in at http://127.0.0.1:${env.port} as ${admin.email} with WATCHTOWER_ADMIN_PASSWORD`,
  );

  const demo = fileURLToPath(new URL('../worker-host/demo/watchtower.config.ts', import.meta.url));
  if (existsSync(demo)) {
    start(
      'host',
      process.execPath,
      ['--import', 'tsx', 'worker-host/cli.ts', 'supervisor', '--config', demo],
      {
        DATABASE_URL: env.databaseUrl,
        REDIS_URL: env.redisUrl,
        WATCHTOWER_COMMAND_BUS: env.bus,
        WATCHTOWER_DEMO_PRODUCER: '1',
      },
    );
    step('worker-host running the demo queues');
  }
  step('Ready. Ctrl-C stops everything.');
}

function start(
  name: string,
  command: string,
  args: string[],
  extraEnv: Record<string, string>,
): ChildProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${name}] `;
  const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) stream.write(prefix + line + '\n');
  };
  child.stdout?.on('data', forward(process.stdout));
  child.stderr?.on('data', forward(process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix}exited (${signal ?? code}); stopping everything.`);
      void stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error('wrangler dev exited before it answered');
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${url} did not answer within 60 s`);
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  step('Stopping');
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const close of closers.reverse()) await close().catch(() => undefined);
  process.exit(code);
}

function step(message: string): void {
  console.log(`watchtower: ${message}`);
}

// Signal handlers only ask for a stop; stop() does the work.
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
main().catch((error: unknown) => {
  console.error(`watchtower: ${error instanceof Error ? error.message : error}`);
  void stop(1);
});
