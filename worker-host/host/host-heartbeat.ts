import type { Database } from '../../core/db/database';
import type { ConnectionHealth } from '../health/connection-health';
import { type HostBeat, nextBeatDue, type WorkerBeat, writeHeartbeat } from '../heartbeat/heartbeat';
import type { DepartedWorkers } from './departed-workers';
import { type HealthInput, rootMessage } from './health-reporter';

export interface HostHeartbeatOptions {
  db: Database;
  /**
   * host.heartbeatInterval and host.deadAfter as the host started with them, kept until it restarts
   * (a reload says so): its health file, which `status --local` and the images' HEALTHCHECK read,
   * says it beats at this interval, and a host beating slower than its file says looks stuck.
   */
  intervalMs: number;
  deadAfterSeconds: number;
  /** The host's own row, as of now. */
  hostBeat: () => HostBeat;
  /** The rows of the workers the host runs, as of now. */
  workers: () => WorkerBeat[];
  departed: DepartedWorkers;
  /** Its health rows go with each beat. */
  connectionHealth: ConnectionHealth;
  note: (what: string, error: unknown) => void;
}

/**
 * A host's heartbeat: one write per interval for the host and all its workers, run from the host's
 * loop, never two at once; a change a command or a worker makes can ask for one sooner.
 */
export class HostHeartbeat {
  readonly counters = { heartbeats: 0, heartbeatErrors: 0 };
  /** What the health file (`status --local`) says of heartbeats. */
  readonly health: HealthInput['heartbeat'];
  private beating: Promise<void> | undefined;
  private nextBeatAt = 0;
  private lastBeatAt = 0;

  constructor(private readonly options: HostHeartbeatOptions) {
    this.health = { intervalMs: options.intervalMs, lastOkAt: null, lastFailedAt: null, lastError: null };
  }

  /** Called on every turn of the host's loop: beats when due, unless one is in flight. */
  tick(now: number): void {
    if (now >= this.nextBeatAt && !this.beating) void this.beat();
  }

  /** Writes a beat now, or joins the one in flight; never rejects. */
  beat(): Promise<void> {
    if (this.beating) return this.beating;
    this.lastBeatAt = Date.now();
    this.nextBeatAt = nextBeatDue(this.nextBeatAt, this.lastBeatAt, this.options.intervalMs);
    const departed = this.options.departed.takeRows();
    const workers = [...departed, ...this.options.workers()];
    const beat = this.options.hostBeat();
    // Health rows not written stay with the monitor for the next beat, like departed workers' rows.
    const health = this.options.connectionHealth.take();
    const current = writeHeartbeat(this.options.db, beat, workers, {
      deadAfterSeconds: this.options.deadAfterSeconds,
      health: health.rows,
    })
      .then(() => {
        this.counters.heartbeats++;
        health.written();
        this.health.lastOkAt = Date.now();
      })
      .catch((error: unknown) => {
        this.health.lastFailedAt = Date.now();
        this.health.lastError = rootMessage(error);
        // Rows of departed workers are kept for the next beat; a failed beat loses nothing.
        this.options.departed.giveBack(departed);
        this.counters.heartbeatErrors++;
        this.options.note('heartbeat', error);
      })
      .finally(() => {
        this.beating = undefined;
      });
    this.beating = current;
    return current;
  }

  /** A beat written after every change made so far: one in flight may have read the state before. */
  async now(): Promise<void> {
    if (this.beating) await this.beating;
    await this.beat();
  }

  request(): void {
    // Soon, but never more than one extra write per 250 ms however many changes ask for one.
    this.nextBeatAt = Math.min(this.nextBeatAt, Math.max(Date.now() + 50, this.lastBeatAt + 250));
  }
}
