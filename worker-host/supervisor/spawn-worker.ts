import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { WorkerSpec } from './worker-spec';

/** The environment variable that carries a connection's URL to a worker process (not argv: `ps` shows argv). */
export const CONNECTION_URL_ENV = 'WATCHTOWER_WORKER_CONNECTION_URL';

const cliEntry = fileURLToPath(new URL('../cli.ts', import.meta.url));

// The CLI and users' processors are TypeScript: every worker process loads tsx's ESM loader, and
// only that (the parent may run under the tsx CLI, whose preflight must not be inherited).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Starts `watchtower worker <queue>` as a child with an IPC channel, as Horizon runs horizon:work. */
export function spawnWorker(spec: WorkerSpec, workerId: string, options: { paused: boolean }): ChildProcess {
  const args = [
    'worker',
    spec.queue,
    `--worker-id=${workerId}`,
    `--host-id=${spec.hostId}`,
    `--supervisor=${spec.supervisor}`,
    `--connection=${spec.connection}`,
    `--processor=${spec.processorPath}`,
    `--concurrency=${spec.concurrency}`,
    `--tries=${spec.tries}`,
    `--timeout=${spec.timeout}`,
    `--memory=${spec.memory}`,
    `--sleep=${spec.sleep}`,
    `--rest=${spec.rest}`,
    `--grace=${spec.graceSeconds}`,
    ...(options.paused ? ['--paused'] : []),
  ];
  return fork(cliEntry, args, {
    execArgv: ['--import', tsxLoader],
    env: { ...process.env, [CONNECTION_URL_ENV]: spec.connectionUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
