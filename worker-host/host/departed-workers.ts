import type { HostStatus, WorkerBeat } from '../heartbeat/heartbeat';
import type { Supervisor } from '../supervisor/supervisor';
import type { WorkerProcess } from '../supervisor/worker-process';

/** How long a host keeps answering commands for a worker it let go of. */
const DEPARTED_RETENTION_MS = 30 * 60_000;
const DEPARTED_MAX = 1000;

/**
 * The workers a host let go of (scaled down, replaced, their supervisor gone): each one's last row,
 * written by the next heartbeat, and its id, which the host keeps claiming commands for a while so
 * a late command gets a clear answer (handle-command.ts) instead of waiting for a host that never
 * claims it.
 */
export class DepartedWorkers {
  private readonly recent = new Map<string, { at: Date; status: string }>();
  private rows: WorkerBeat[] = [];

  /** Takes the workers that left the supervisor's pools since the last turn of the loop. */
  collect(supervisor: Supervisor, hostStatus: HostStatus): void {
    for (const worker of supervisor.takeDeparted()) {
      const at = new Date();
      this.recent.set(worker.id, { at, status: 'stopped' });
      this.rows.push(workerBeat(supervisor, worker, hostStatus));
    }
  }

  prune(now: number): void {
    for (const [id, { at }] of this.recent) {
      if (now - at.getTime() < DEPARTED_RETENTION_MS && this.recent.size <= DEPARTED_MAX) break;
      this.recent.delete(id);
    }
  }

  get(workerId: string): { at: Date; status: string } | undefined {
    return this.recent.get(workerId);
  }

  ids(): IterableIterator<string> {
    return this.recent.keys();
  }

  /** The rows no beat has written yet; a beat takes them, and gives them back if it fails. */
  takeRows(): WorkerBeat[] {
    const rows = this.rows;
    this.rows = [];
    return rows;
  }

  /** Rows of departed workers are kept for the next beat; a failed beat loses nothing. */
  giveBack(rows: WorkerBeat[]): void {
    this.rows = [...rows, ...this.rows];
  }
}

export function workerBeat(
  supervisor: Supervisor,
  worker: WorkerProcess,
  hostStatus: HostStatus,
): WorkerBeat {
  const leftOrStopping = worker.desired === 'gone' && !worker.alive;
  return {
    workerId: worker.id,
    supervisor: supervisor.name,
    connection: supervisor.config.connection,
    queue: worker.spec.queue,
    pid: worker.pid,
    status: leftOrStopping || (hostStatus === 'stopped' && !worker.alive) ? 'stopped' : worker.status,
    currentJob: worker.currentJobs[0] ?? null,
    jobsProcessed: worker.processed,
    jobsFailed: worker.failed,
    memoryBytes: worker.memoryBytes,
    restarts: worker.restarts,
    lastError: worker.lastError,
    startedAt: worker.createdAt,
  };
}
