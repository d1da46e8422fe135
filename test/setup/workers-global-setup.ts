import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { buildWebInChild } from '../support/web-build';
import { testEnv } from './test-env';
import { READY_PREFIX, type StackReady } from './workers-stack-protocol';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Cloudflare Worker's bindings for the local stack; vitest.workers.config.mts injects them. */
    workersBindings: Record<string, string>;
  }
}

const STACK_SCRIPT = fileURLToPath(new URL('./workers-stack.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// ensurePostgres/ensureRedis may start a service and wait up to 20 s each for it.
const READY_TIMEOUT_MS = 60_000;

/**
 * Before the workerd tests: the dashboard assets are built, and a child process (see
 * workers-stack.ts for why it is not this one) has made sure Postgres and Redis are up, the test
 * database is migrated, and the stand-ins for Neon's WebSocket proxy and HTTP endpoint and Upstash's
 * REST API listen.
 * The bindings pointing at them are provided to the pool, which injects them into Miniflare.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [, { child, ready }] = await Promise.all([buildWebInChild(), startStack()]);
  project.provide('workersBindings', {
    DATABASE_URL: ready.databaseUrl,
    WATCHTOWER_LOCAL_NEON_RELAY: `127.0.0.1:${ready.relayPort}`,
    WATCHTOWER_LOCAL_NEON_HTTP: ready.neonHttp,
    UPSTASH_REDIS_REST_URL: ready.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: ready.upstashToken,
    WATCHTOWER_ADMIN_TOKEN: testEnv.adminToken,
    WATCHTOWER_ENCRYPTION_KEY: testEnv.encryptionKey,
    WATCHTOWER_ACCESS_TEAM_DOMAIN: testEnv.accessTeamDomain,
    WATCHTOWER_ACCESS_AUD: testEnv.accessAudience,
    // The auth tests publish their keys under their own names and point a request's env there.
    WATCHTOWER_ACCESS_CERTS_URL: `${ready.jwksUrl}/jwks/default`,
    WATCHTOWER_TEST_JWKS_URL: ready.jwksUrl,
  });
  return () => stopStack(child);
}

function startStack(): Promise<{ child: ChildProcess; ready: StackReady }> {
  // `--import tsx` keeps it one process (the tsx CLI would put a second one in between), so the
  // pid we signal is the one holding the ports.
  const child = spawn(process.execPath, ['--import', 'tsx', STACK_SCRIPT], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (reason: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const output = stderr.trim() ? `\n${stderr.trim()}` : '';
      reject(new Error(`workers test stack: ${reason}${output}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(READY_PREFIX));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, ready: JSON.parse(line.slice(READY_PREFIX.length)) as StackReady });
    });
    child.once('error', (error) => fail(`cannot start: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited before it was ready (${signal ?? `code ${code}`})`));
  });
}

function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
