import type { CommandBus } from '../../core/bus/command-bus';
import type { Database } from '../../core/db/database';
import type { QueueRegistry } from '../commands/queue-registry';
import type { Supervisor } from '../supervisor/supervisor';
import type { WorkerProcess } from '../supervisor/worker-process';

/** What command handlers may do to a host: the narrow surface they need, nothing of its loop. */
export interface HostControl {
  readonly hostId: string;
  readonly db: Database;
  readonly bus: CommandBus;
  readonly queues: QueueRegistry;
  /** The host's environment: its encryption keys open connections' secrets. */
  readonly env: NodeJS.ProcessEnv;
  /** Aborted when the host starts terminating; long commands stop and answer with what they did. */
  readonly stopping: AbortSignal;
  supervisors(): Supervisor[];
  /** The live supervisor of that name (not one still finishing after a reload). */
  findSupervisor(name: string): Supervisor | undefined;
  /** A worker of this host, including one still finishing its jobs on its way out. */
  findWorker(workerId: string): { worker: WorkerProcess; supervisor: Supervisor } | undefined;
  /** A worker this host had and let go of recently: so a late command gets a clear answer. */
  departedWorker(workerId: string): { at: Date; status: string } | undefined;
  reload(): Promise<ReloadResult>;
  /** Restarts every worker process gracefully; returns how many. */
  restartWorkers(): number;
  /** Starts a graceful terminate once the current command is acknowledged. */
  requestTerminate(graceSeconds?: number): void;
  /** Writes a heartbeat soon, so a confirmed change shows in watchtower_workers at once. */
  requestHeartbeat(): void;
  /**
   * Writes a heartbeat now (after any write in flight) and resolves once it is written or failed.
   * Awaited before a command is acknowledged, so a list read after the acknowledgement already
   * shows the confirmed state; best effort: it never rejects.
   */
  heartbeatNow(): Promise<void>;
}

export interface ReloadResult {
  added: string[];
  removed: string[];
  restarted: string[];
  /** Only their process bounds changed: resized in place, their worker processes kept. */
  resized: string[];
  unchanged: string[];
  /** Settings that only a restart of the host applies. */
  needsHostRestart: string[];
}
