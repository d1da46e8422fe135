import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CONNECTION_URL_ENV } from '../worker/ipc-messages';
import { isCompiledProcessor } from './processor-build';
import { CLI_ENTRY, isTypeScriptModule } from './worker-entry';
import { workerEnv } from './worker-env';
import type { WorkerSpec } from './worker-spec';

export { CONNECTION_URL_ENV };

// TypeScript (the CLI's sources, a user's .ts processor) needs tsx's ESM loader in the worker
// process, and only that (the parent may run under the tsx CLI, whose preflight must not be inherited).
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * Node flags the host's owner adds to every worker process's command line
 * (WATCHTOWER_WORKER_NODE_OPTIONS, split on spaces): a heap limit, or `--cpu-prof`, which Node
 * refuses in NODE_OPTIONS and so can only profile a worker process from here.
 */
export function workerNodeFlags(env: NodeJS.ProcessEnv): string[] {
  return (env.WATCHTOWER_WORKER_NODE_OPTIONS ?? '').split(/\s+/).filter((flag) => flag !== '');
}

/**
 * Starts `watchtower worker <queue>` as a child with an IPC channel, as Horizon runs horizon:work.
 * A JavaScript processor runs from `entry`, the compiled CLI (supervisor/worker-entry.ts), under
 * plain Node; a TypeScript one (or no compiled CLI) from the sources, through tsx's loader.
 */
export function spawnWorker(
  spec: WorkerSpec,
  workerId: string,
  options: { paused: boolean; entry?: string | undefined },
): ChildProcess {
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
    `--lock-duration=${spec.lockDuration}`,
    `--stalled-interval=${spec.stalledInterval}`,
    `--grace=${spec.graceSeconds}`,
    `--max-payload-bytes=${spec.payloadCap}`,
    ...(options.paused ? ['--paused'] : []),
  ];
  // Compiled only without the loader: tsx would transform the whole compiled file again (measured:
  // 163 MB a process, against 112 MB from the sources with tsx and 89 MB compiled without it).
  const compiled = isTypeScriptModule(spec.processorPath) ? undefined : options.entry;
  return fork(compiled ?? CLI_ENTRY, args, {
    // A TypeScript processor the host compiled (processor-build.ts) carries its source map: failed
    // jobs' stacks then name the user's files.
    execArgv: [
      ...(compiled === undefined
        ? ['--import', tsxLoader]
        : isCompiledProcessor(spec.processorPath)
          ? ['--enable-source-maps']
          : []),
      ...workerNodeFlags(process.env),
    ],
    env: { ...workerEnv(process.env, spec.passEnv), [CONNECTION_URL_ENV]: spec.connectionUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
