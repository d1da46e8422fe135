import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  isWorkerMessage,
  type SupervisorToWorker,
  type WorkerControlAction,
  type WorkerLeavingMessage,
} from '../worker/ipc-messages';
import type { WorkerSpec } from './worker-spec';

/** A worker process as watchtower_workers shows it. */
export type WorkerStatus = 'starting' | 'running' | 'paused' | 'stopping' | 'stopped' | 'restarting' | 'dead';

/** What the supervisor wants of the slot; the process is brought there by `monitor`. */
export type DesiredState = 'running' | 'paused' | 'stopped' | 'gone';

export interface WorkerProcessHooks {
  spawn: (spec: WorkerSpec, workerId: string, options: { paused: boolean }) => ChildProcess;
  /** Any other IPC message (the recorder's job events). */
  onMessage: (message: unknown) => void;
  /** The state changed in a way commands or heartbeats care about. */
  onChange: () => void;
  log: (line: string) => void;
}

/** A process that lived less than this before dying counts toward a crash loop. */
const CRASH_LOOP_WINDOW_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

export function crashBackoffMs(consecutiveCrashes: number): number {
  // The first death is replaced at once (within 2 s); a process that keeps dying right
  // after start waits 0.5 s, 1 s, 2 s ... up to 30 s, so a broken processor does not spin the CPU.
  if (consecutiveCrashes <= 1) return 0;
  return Math.min(500 * 2 ** (consecutiveCrashes - 2), MAX_BACKOFF_MS);
}

/**
 * One slot of a process pool and the child process that fills it (Horizon's WorkerProcess). The
 * worker id belongs to the slot: a restarted or replaced process keeps it, with a new pid, so
 * commands and the dashboard keep addressing the same worker.
 */
export class WorkerProcess {
  readonly id: string;
  readonly createdAt = new Date();
  status: WorkerStatus = 'starting';
  desired: DesiredState;
  pid: number | null = null;
  currentJobs: string[] = [];
  memoryBytes: number | null = null;
  restarts = 0;
  lastError: string | null = null;
  private child: ChildProcess | undefined;
  private processStartedAt = 0;
  private nextStartAt = 0;
  private crashes = 0;
  private restartRequested = false;
  private leaving: WorkerLeavingMessage | undefined;
  private killTimer: ReturnType<typeof setTimeout> | undefined;
  // Counters of processes that already exited, plus the live one's last report.
  private doneProcessed = 0;
  private doneFailed = 0;
  private doneBusyMs = 0;
  private liveProcessed = 0;
  private liveFailed = 0;
  private liveBusyMs = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly spec: WorkerSpec,
    private readonly hooks: WorkerProcessHooks,
    options: { paused?: boolean; id?: string } = {},
  ) {
    this.id = options.id ?? randomUUID();
    this.desired = options.paused ? 'paused' : 'running';
  }

  get processed(): number {
    return this.doneProcessed + this.liveProcessed;
  }

  get failed(): number {
    return this.doneFailed + this.liveFailed;
  }

  get busyMs(): number {
    return this.doneBusyMs + this.liveBusyMs;
  }

  /** Whether a child process is alive in this slot. */
  get alive(): boolean {
    return this.child !== undefined;
  }

  /** When the live process was started (ms), or undefined when none is alive. */
  get liveSince(): number | undefined {
    return this.child ? this.processStartedAt : undefined;
  }

  /** Gone and exited: the pool can drop the slot. */
  get finished(): boolean {
    return this.desired === 'gone' && !this.child;
  }

  /** Starts a process when the slot should have one and none runs (after a crash, when its backoff ended). */
  monitor(now = Date.now()): void {
    if (this.child || this.desired === 'stopped' || this.desired === 'gone') return;
    if (now < this.nextStartAt) return;
    this.start();
  }

  pause(): void {
    if (this.desired === 'gone' || this.desired === 'stopped') return;
    this.desired = 'paused';
    this.send('pause');
  }

  resume(): void {
    if (this.desired === 'gone' || this.desired === 'stopped') return;
    this.desired = 'running';
    this.send('resume');
  }

  /** Finishes the current jobs and exits; the slot stays, `stopped`, until restarted. */
  stop(graceMs: number): void {
    if (this.desired === 'gone') return;
    this.desired = 'stopped';
    this.restartRequested = false;
    this.stopProcess(graceMs);
    if (!this.child) this.setStatus('stopped');
  }

  /** A fresh process in the same slot once the current jobs finish; starts a stopped slot too. */
  restart(graceMs: number): void {
    if (this.desired === 'gone') return;
    if (this.desired === 'stopped') this.desired = 'running';
    if (this.child) {
      this.restartRequested = true;
      this.stopProcess(graceMs);
    } else {
      this.nextStartAt = 0;
      this.crashes = 0;
      this.monitor();
    }
  }

  /** Finishes the current jobs and exits; the pool then drops the slot. */
  terminate(graceMs: number): void {
    this.desired = 'gone';
    this.restartRequested = false;
    this.stopProcess(graceMs);
    if (!this.child) this.setStatus('stopped');
  }

  /** SIGKILL now (tests, and the end of a grace period). */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** Resolves true once `predicate` holds, false after `timeoutMs`. */
  waitFor(predicate: (worker: WorkerProcess) => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate(this)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate(this)) return;
        finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  private start(): void {
    this.leaving = undefined;
    this.liveProcessed = 0;
    this.liveFailed = 0;
    this.liveBusyMs = 0;
    this.currentJobs = [];
    let child: ChildProcess;
    try {
      child = this.hooks.spawn(this.spec, this.id, { paused: this.desired === 'paused' });
    } catch (error) {
      // fork itself failed (out of pids, a bad path): treat it as a crash so backoff applies.
      this.lastError = `could not start a worker process: ${(error as Error).message}`;
      this.hooks.log(`[${this.spec.supervisor}/${this.spec.queue}] ${this.lastError}`);
      this.crashes++;
      this.nextStartAt = Date.now() + Math.max(crashBackoffMs(this.crashes), 500);
      this.setStatus('restarting');
      return;
    }
    this.child = child;
    this.pid = child.pid ?? null;
    this.processStartedAt = Date.now();
    this.setStatus('starting');
    child.on('message', (message) => this.onMessage(message));
    // 'error' fires when the process could not be spawned or a message could not be sent; 'exit'
    // follows in the first case, and a lost control message is covered by the grace timer.
    child.on('error', (error) => {
      this.hooks.log(`[${this.spec.supervisor}/${this.spec.queue}] worker ${this.id}: ${error.message}`);
    });
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
  }

  private onMessage(message: unknown): void {
    if (!isWorkerMessage(message)) {
      this.hooks.onMessage(message);
      return;
    }
    if (message.type === 'worker-leaving') {
      this.leaving = message;
      if (message.reason === 'fatal') this.lastError = message.detail;
      return;
    }
    this.liveProcessed = message.processed;
    this.liveFailed = message.failed;
    this.liveBusyMs = message.busyMs;
    this.currentJobs = message.currentJobs;
    this.memoryBytes = message.memoryBytes;
    // A stop already asked for wins over a late "running" from the child.
    const status = this.stopping && message.status !== 'stopping' ? 'stopping' : message.status;
    this.setStatus(status);
  }

  private get stopping(): boolean {
    return this.killTimer !== undefined;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.pid = null;
    this.currentJobs = [];
    clearTimeout(this.killTimer);
    this.killTimer = undefined;
    this.doneProcessed += this.liveProcessed;
    this.doneFailed += this.liveFailed;
    this.doneBusyMs += this.liveBusyMs;
    this.liveProcessed = 0;
    this.liveFailed = 0;
    this.liveBusyMs = 0;
    const label = `[${this.spec.supervisor}/${this.spec.queue}] worker ${this.id}`;

    if (this.desired === 'stopped' || this.desired === 'gone') {
      this.setStatus('stopped');
      return;
    }
    if (this.restartRequested || (this.leaving && this.leaving.reason !== 'fatal')) {
      // Asked for, or the process left on purpose (memory, a stuck job): a fresh one at once.
      if (this.leaving) this.hooks.log(`${label} restarting: ${this.leaving.detail}`);
      this.restartRequested = false;
      this.restarts++;
      this.crashes = 0;
      this.nextStartAt = 0;
      this.setStatus('restarting');
      this.monitor();
      return;
    }
    const lived = Date.now() - this.processStartedAt;
    this.crashes = lived < CRASH_LOOP_WINDOW_MS ? this.crashes + 1 : 1;
    const delay = crashBackoffMs(this.crashes);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.lastError = this.leaving?.detail ?? `worker process ${how}`;
    this.restarts++;
    this.hooks.log(
      `${label} ${how} after ${lived} ms; ${delay === 0 ? 'replacing it now' : `replacing it in ${delay} ms (crash loop)`}`,
    );
    this.nextStartAt = Date.now() + delay;
    this.setStatus('restarting');
    this.monitor();
  }

  private stopProcess(graceMs: number): void {
    const child = this.child;
    if (!child) return;
    this.setStatus('stopping');
    this.send('stop');
    // A SIGTERM as well: it reaches a process whose IPC channel is broken or not yet listening.
    child.kill('SIGTERM');
    if (this.killTimer) return;
    this.killTimer = setTimeout(() => {
      if (this.child !== child) return;
      this.hooks.log(
        `[${this.spec.supervisor}/${this.spec.queue}] worker ${this.id} did not finish within ${graceMs / 1000} s; killing it`,
      );
      child.kill('SIGKILL');
    }, graceMs);
    this.killTimer.unref();
  }

  private send(action: WorkerControlAction): void {
    const child = this.child;
    if (!child?.connected) return;
    const message: SupervisorToWorker = { type: 'worker-control', action };
    try {
      child.send(message, (error) => {
        if (error) this.hooks.log(`could not tell worker ${this.id} to ${action}: ${error.message}`);
      });
    } catch (error) {
      this.hooks.log(`could not tell worker ${this.id} to ${action}: ${(error as Error).message}`);
    }
  }

  private setStatus(status: WorkerStatus): void {
    const changed = status !== this.status;
    this.status = status;
    for (const waiter of [...this.waiters]) waiter();
    if (changed) this.hooks.onChange();
  }
}
