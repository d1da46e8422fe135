/**
 * What a supervisor and its worker processes say to each other over the IPC channel of
 * `child_process.fork`. Job lifecycle events travel on the same channel as `{ type: 'job-events' }`
 * messages owned by the recorder; everything else is here.
 */

/**
 * The environment variable that carries a connection's URL to a worker process (not argv: `ps`
 * shows argv). It is the only variable of Watchtower's a worker process reads (worker-command.ts):
 * the others are withheld from it (worker-env.ts).
 */
export const CONNECTION_URL_ENV = 'WATCHTOWER_WORKER_CONNECTION_URL';

/** What a worker process reports about itself; the supervisor writes it into heartbeats. */
export type WorkerProcessStatus = 'starting' | 'running' | 'paused' | 'stopping';

export interface WorkerStateMessage {
  type: 'worker-state';
  workerId: string;
  status: WorkerProcessStatus;
  pid: number;
  /** Ids of the jobs running now (at most `concurrency`). */
  currentJobs: string[];
  processed: number;
  failed: number;
  /** Milliseconds spent running jobs, so the supervisor knows a queue's time per job. */
  busyMs: number;
  memoryBytes: number;
}

/** Why a worker process is about to exit on its own, so the supervisor restarts it at once. */
export interface WorkerLeavingMessage {
  type: 'worker-leaving';
  workerId: string;
  reason: 'memory' | 'timeout' | 'fatal';
  detail: string;
}

export type WorkerToSupervisor = WorkerStateMessage | WorkerLeavingMessage;

export type WorkerControlAction = 'pause' | 'resume' | 'stop';

export interface WorkerControlMessage {
  type: 'worker-control';
  action: WorkerControlAction;
}

export type SupervisorToWorker = WorkerControlMessage;

export function isWorkerMessage(message: unknown): message is WorkerToSupervisor {
  if (typeof message !== 'object' || message === null) return false;
  const type = (message as { type?: unknown }).type;
  return type === 'worker-state' || type === 'worker-leaving';
}

export function isControlMessage(message: unknown): message is WorkerControlMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'worker-control'
  );
}

/** Exit code of a worker process that stopped on purpose (asked to, or to be restarted). */
export const EXIT_STOPPED = 0;
/** Exit code of a worker process whose processor module or configuration cannot be used. */
export const EXIT_UNUSABLE = 78;
