import { hostname } from 'node:os';
import type { RecorderStats } from '../recorder/recorder';
import type { Supervisor } from '../supervisor/supervisor';
import type { WorkerProcess } from '../supervisor/worker-process';
import {
  HEALTH_FILE_VERSION,
  type HostHealth,
  pruneHealthFiles,
  removeHealthFile,
  type SupervisorHealth,
  writeHealthFile,
} from './health-file';

/** What the host tells the reporter on each write. */
export interface HealthInput {
  status: HostHealth['status'];
  supervisors: Supervisor[];
  heartbeat: HostHealth['heartbeat'];
  recorder: RecorderStats;
}

const READY = new Set(['running', 'paused', 'stopping']);
/** A process alive this long counts as running even before it says it is ready. */
const SLOW_START_MS = 5000;

/**
 * Whether a slot's process counts as running: it said it is ready, or it has been alive for a
 * while (waiting for Redis, say: there, not crashing). A process that dies on import, again and
 * again, never counts, so a crash loop shows as a supervisor without running processes.
 */
function countsAsRunning(worker: WorkerProcess, now: number): boolean {
  const since = worker.liveSince;
  if (since === undefined) return false;
  return READY.has(worker.status) || now - since >= SLOW_START_MS;
}

/** How often the loop writes the file; `status --local` calls it stale past 3 periods (and 10 s). */
export const HEALTH_WRITE_EVERY_MS = 1000;

/**
 * Writes this host's health file (health-file.ts) from its loop: at most once per period, never two
 * writes at once, and a write that fails is told to `onError` and tried again next period. The
 * host's work never waits on it: a host that cannot write its health file keeps running, and
 * `status --local` reports the file stale.
 */
export class HealthReporter {
  private lastWriteAt = 0;
  private writing: Promise<void> | undefined;
  private stopped = false;
  /** Per supervisor: since when it has been short of worker processes, and without any. */
  private readonly since = new Map<Supervisor, { short: number | null; none: number | null }>();

  constructor(
    private readonly dir: string,
    private readonly host: { hostId: string; startedAt: Date; heartbeatIntervalMs: number },
    private readonly onError: (error: unknown) => void,
    private readonly everyMs = HEALTH_WRITE_EVERY_MS,
  ) {}

  /** As the host starts: clears the files of hosts gone from this machine, then says `starting`. */
  async starting(): Promise<void> {
    try {
      await pruneHealthFiles(this.dir, { hostId: this.host.hostId, hostname: hostname(), pid: process.pid });
    } catch (error) {
      this.onError(error);
    }
    await this.write(this.build(Date.now(), undefined));
  }

  /** Called on every turn of the host's loop; writes when a period has passed. */
  tick(now: number, input: () => HealthInput): void {
    if (this.stopped || this.writing || now - this.lastWriteAt < this.everyMs) return;
    this.lastWriteAt = now;
    void this.write(this.build(now, input()));
  }

  /** As the host stops: no more writes, and its file goes (a stopped host is not a dead one). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.writing) await this.writing;
    await removeHealthFile(this.dir, this.host.hostId).catch((error: unknown) => this.onError(error));
  }

  private write(health: HostHealth): Promise<void> {
    const current = writeHealthFile(this.dir, health)
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.writing = undefined;
      });
    this.writing = current;
    return current;
  }

  private build(now: number, input: HealthInput | undefined): HostHealth {
    const recorder = input?.recorder;
    return {
      version: HEALTH_FILE_VERSION,
      hostId: this.host.hostId,
      hostname: hostname(),
      pid: process.pid,
      startedAt: this.host.startedAt.getTime(),
      writtenAt: now,
      writeEveryMs: this.everyMs,
      status: input?.status ?? 'starting',
      supervisors: input ? this.supervisors(now, input.supervisors) : [],
      heartbeat: input?.heartbeat ?? {
        intervalMs: this.host.heartbeatIntervalMs,
        lastOkAt: null,
        lastFailedAt: null,
        lastError: null,
      },
      recorder: {
        buffered: recorder?.buffered ?? 0,
        spoolPending: recorder?.spoolPending ?? 0,
        dropped: recorder?.dropped ?? 0,
        spoolErrors: recorder?.spoolErrors ?? 0,
        lastSpoolError: recorder?.lastSpoolError ?? null,
        lastSpoolErrorAt: recorder?.lastSpoolErrorAt ?? null,
        lastWriteAt: recorder?.lastWriteAt ?? null,
      },
    };
  }

  private supervisors(now: number, list: Supervisor[]): SupervisorHealth[] {
    // By supervisor, not by name: after a reload the old one (finishing) and the new share a name.
    const seen = new Set<Supervisor>();
    const out = list.map((supervisor) => {
      seen.add(supervisor);
      // Wanted: slots that should have a process (running or paused), not those an operator
      // stopped, nor those leaving (scaled down, terminating).
      const slots = supervisor.workers.filter((w) => w.desired === 'running' || w.desired === 'paused');
      const running = slots.filter((w) => countsAsRunning(w, now)).length;
      const ready = slots.filter((w) => w.alive && READY.has(w.status)).length;
      const previous = this.since.get(supervisor) ?? { short: null, none: null };
      const since = {
        short: running < slots.length ? (previous.short ?? now) : null,
        none: slots.length > 0 && running === 0 ? (previous.none ?? now) : null,
      };
      this.since.set(supervisor, since);
      const lastError =
        slots
          .filter((w) => w.lastError !== null)
          .map((w) => w.lastError as string)
          .at(-1) ?? null;
      return {
        name: supervisor.name,
        status: supervisor.status,
        wanted: slots.length,
        running,
        ready,
        shortSince: since.short,
        noneSince: since.none,
        lastError,
      };
    });
    for (const supervisor of this.since.keys()) if (!seen.has(supervisor)) this.since.delete(supervisor);
    return out;
  }
}

/**
 * The innermost cause's first line, at most 200 characters: drizzle wraps a refused connection in
 * "Failed query: <the whole statement>", and the health line wants "connect ECONNREFUSED ...".
 */
export function rootMessage(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const text = inner instanceof Error ? inner.message || inner.name : String(inner);
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
