import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import type { Command, CommandBus, SendCommandInput } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { type Database, rowsOf } from '../../core/db/database';
import { PgNotificationListener } from '../../worker-host/bus/pg-notification-listener';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';

/**
 * Helpers for the worker-host tests: real hosts started through the CLI as child processes, real
 * Redis queues with unique names, the real test database, and the command bus as the API uses it.
 */

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cliPath = join(repoRoot, 'worker-host/cli.ts');

/**
 * Node's arguments that start the `watchtower` CLI: the package's bundle, the code users install,
 * under plain Node, where the Node suites' global setup built one (test/setup/test-cli.ts sets
 * WATCHTOWER_TEST_CLI); otherwise (a bench, or `fromSources`) the sources through tsx, as `npm
 * start` runs them. The bundle spares every host and command tsx's start-up (about 0.6 s of CPU)
 * and each host the worker entry's compile.
 */
export function cliArgs(options: { fromSources?: boolean } = {}): string[] {
  const bundle = process.env.WATCHTOWER_TEST_CLI;
  return bundle && !options.fromSources ? [bundle] : ['--import', 'tsx', cliPath];
}
export const testProcessor = join(import.meta.dirname, 'fixtures/test-processor.ts');

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface WorkerRow {
  worker_id: string;
  host_id: string;
  supervisor: string;
  queue: string;
  pid: number | null;
  status: string;
  current_job: string | null;
  jobs_processed: number;
  jobs_failed: number;
  restarts: number;
  last_error: string | null;
}

/** A scratch directory for configuration files, removed by `cleanup`. */
export function scratchDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'watchtower-host-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface SupervisorInput {
  name: string;
  queues: string[];
  minProcesses?: number;
  maxProcesses?: number;
  balance?: 'simple' | 'auto';
  concurrency?: number;
  tries?: number;
  timeout?: number;
  memory?: number;
  sleep?: number;
  [key: string]: unknown;
}

/** Writes a JSON configuration whose queues all run the test processor; fast intervals for tests. */
export function writeConfig(
  dir: string,
  supervisors: SupervisorInput[],
  host: Record<string, number> = {},
  options: { connection?: string; file?: string; connections?: Record<string, { url: string }> } = {},
): string {
  const path = join(dir, options.file ?? `${uniqueName('config')}.json`);
  const connection = options.connection ?? 'default';
  const config = {
    connections: { [connection]: { url: testEnv.redisUrl }, ...options.connections },
    supervisors: supervisors.map((s) => ({ sleep: 0.5, connection, ...s })),
    processors: { '*': testProcessor },
    host: { heartbeatInterval: 0.25, pollInterval: 0.25, gracePeriod: 10, ...host },
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: testEnv.databaseUrl, ...extra };
  delete env.WATCHTOWER_CONFIG;
  env.WATCHTOWER_COMMAND_BUS = extra.WATCHTOWER_COMMAND_BUS ?? 'database';
  return env;
}

/** Runs the CLI to completion and returns what it printed. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], {
      cwd: repoRoot,
      env: options.env ?? cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`watchtower ${args.join(' ')} did not finish: ${stdout}${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A running `watchtower supervisor`, started as the user would. */
export class HostProcess {
  output = '';
  hostId = '';
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
    });
    this.exited = new Promise((resolvePromise) => {
      child.on('exit', (code) => {
        this.exitCode = code;
        resolvePromise(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM, then waits for the graceful exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

export async function startHost(
  configPath: string,
  db: Database,
  options: {
    env?: NodeJS.ProcessEnv;
    args?: string[];
    workers?: number;
    /** Run the sources through tsx, not the package's bundle (see cliArgs). */
    fromSources?: boolean;
  } = {},
): Promise<HostProcess> {
  const child = spawn(
    process.execPath,
    [...cliArgs(options), 'supervisor', `--config=${configPath}`, ...(options.args ?? [])],
    { cwd: repoRoot, env: options.env ?? cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const host = new HostProcess(child);
  started.add(host);
  try {
    host.hostId = await waitFor(
      async () => {
        if (!host.running) throw new Error(`the host exited early:\n${host.output}`);
        const rows = rowsOf<{ host_id: string }>(
          await db.execute(
            sql`select host_id from watchtower_hosts where pid = ${host.pid} and status = 'running' order by started_at desc limit 1`,
          ),
        );
        return rows[0]?.host_id;
      },
      20_000,
      'the host to register',
    );
    const expected = options.workers ?? 1;
    await waitFor(
      async () => {
        const rows = await workersOf(db, host.hostId);
        return rows.filter((row) => row.status === 'running').length >= expected;
      },
      20_000,
      `${expected} worker process(es) to run`,
    );
  } catch (error) {
    host.kill();
    throw new Error(`${(error as Error).message}\n--- host output ---\n${host.output}`);
  }
  return host;
}

const started = new Set<HostProcess>();

/** For afterAll: every host still running is killed, and its worker processes with it. */
export async function killAllHosts(): Promise<void> {
  const running = [...started].filter((host) => host.running);
  for (const host of running) host.kill();
  await Promise.all(running.map((host) => host.exited));
  started.clear();
}

export async function workersOf(db: Database, hostId: string): Promise<WorkerRow[]> {
  return rowsOf<WorkerRow>(
    await db.execute(sql`
      select worker_id, host_id, supervisor, queue, pid, status, current_job, jobs_processed::int, jobs_failed::int,
             restarts, last_error
      from watchtower_workers where host_id = ${hostId} order by started_at, worker_id`),
  );
}

export async function hostRow(db: Database, hostId: string) {
  const rows = rowsOf<{ status: string; stats: Record<string, unknown>; supervisors: unknown[] }>(
    await db.execute(sql`select status, stats, supervisors from watchtower_hosts where host_id = ${hostId}`),
  );
  return rows[0];
}

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
      if ((error as Error).message.startsWith('the host exited early')) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function openTestDatabase() {
  return createNodeDatabase(testEnv.databaseUrl, { max: 4 });
}

export function openTestBus(db: Database): CommandBus {
  return new DatabaseCommandBus(db, { listener: new PgNotificationListener(testEnv.databaseUrl) });
}

/** Sends a command and waits for its answer, as the API's "wait for a command" does. */
export async function sendAndWait(
  bus: CommandBus,
  input: SendCommandInput,
  timeoutMs = 20_000,
): Promise<Command> {
  const sent = await bus.send({ ttl: 60, ...input });
  return waitFor(
    async () => {
      const command = await bus.find(sent.id);
      return command && ['done', 'failed', 'expired'].includes(command.status) ? command : undefined;
    },
    timeoutMs,
    `command ${input.type} to be answered`,
  );
}

export function testQueue(name: string): Queue {
  const queue = new Queue(name, { connection: { url: testEnv.redisUrl } });
  queue.on('error', () => undefined);
  return queue;
}

/** Whether a process is alive (signal 0 checks without touching it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
