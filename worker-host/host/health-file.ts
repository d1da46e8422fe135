import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stateDir } from '../recorder/spool-dir';

/**
 * The health file: what a running host says about itself, on this machine, for
 * `watchtower status --local` (and so for a container's HEALTHCHECK or a liveness probe) to read
 * without Postgres. The host's loop writes it about once a second, so its age says whether the loop
 * still turns; its pid says whether the process is still there.
 *
 * One file per host, `<state dir>/health/<host id>.json`: several hosts may share a state directory
 * (as they may share the spool), and each is judged on its own. A host removes its file when it
 * stops; a host killed outright leaves it, and `status --local` then reports it gone until the next
 * host started in that directory clears it away (pruneHealthFiles).
 */

export const HEALTH_FILE_VERSION = 1;

export interface SupervisorHealth {
  name: string;
  status: string;
  /** Worker processes the supervisor should have running (slots not stopped by an operator). */
  wanted: number;
  /**
   * Of those, the ones whose process runs: it said it is ready, or has been alive 5 s (one waiting
   * for Redis is there, not crashing). A process that dies as it starts, again and again, never counts.
   */
  running: number;
  /** Of those, the ones whose process said it is ready (connected, taking jobs or paused). */
  ready: number;
  /** Since when (ms) fewer processes run than wanted; null when all do. */
  shortSince: number | null;
  /** Since when (ms) none runs while some are wanted; null otherwise. */
  noneSince: number | null;
  /** The newest error a worker process of this supervisor left (an exit, a crash loop). */
  lastError: string | null;
}

export interface HostHealth {
  version: typeof HEALTH_FILE_VERSION;
  hostId: string;
  hostname: string;
  pid: number;
  startedAt: number;
  /** When the host wrote this (ms since the epoch, this machine's clock). */
  writtenAt: number;
  /** How often the host means to write it (ms). */
  writeEveryMs: number;
  /** `starting` until the supervisors run and the loop turns; then the heartbeat's status. */
  status: 'starting' | 'running' | 'paused' | 'terminating' | 'stopped';
  supervisors: SupervisorHealth[];
  heartbeat: {
    intervalMs: number;
    /** The last heartbeat Postgres took, and the last one it refused (ms), with why. */
    lastOkAt: number | null;
    lastFailedAt: number | null;
    lastError: string | null;
  };
  recorder: {
    /** Rows waiting in memory for Postgres. */
    buffered: number;
    /** Rows this host spooled that are not replayed yet. */
    spoolPending: number;
    /** Rows lost: neither Postgres nor the spool would take them. */
    dropped: number;
    spoolErrors: number;
    lastSpoolError: string | null;
    lastSpoolErrorAt: number | null;
    /** The last batch Postgres took (ms). */
    lastWriteAt: number | null;
  };
}

/** `<state dir>/health`: beside the spool, under the same `WATCHTOWER_STATE_DIR`. */
export function healthDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'health');
}

export function healthFileName(hostId: string): string {
  return `${hostId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

/**
 * Writes the file whole or not at all (a temporary file renamed over it), so a reader never sees
 * half of one. The directory is made for this user alone (0700), as the spool's is.
 */
export async function writeHealthFile(dir: string, health: HostHealth): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, healthFileName(health.hostId));
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(health)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

export async function removeHealthFile(dir: string, hostId: string): Promise<void> {
  await rm(join(dir, healthFileName(hostId)), { force: true });
}

export interface HealthFileRead {
  file: string;
  health?: HostHealth;
  /** Why the file could not be read as a health file. */
  error?: string;
}

/** Every `*.json` of the directory, read; an absent directory is none. */
export async function readHealthFiles(dir: string): Promise<HealthFileRead[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: HealthFileRead[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = join(dir, name);
    try {
      // Removed between the listing and the read: that host just stopped.
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (text === undefined) continue;
      const parsed = parseHealth(JSON.parse(text));
      out.push(typeof parsed === 'string' ? { file, error: parsed } : { file, health: parsed });
    } catch (error) {
      out.push({ file, error: (error as Error).message });
    }
  }
  return out;
}

/** The fields the rules read, checked; a file of another version or shape is named, not guessed at. */
function parseHealth(value: unknown): HostHealth | string {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  if (record.version !== HEALTH_FILE_VERSION) {
    return `health file version ${JSON.stringify(record.version)}, this watchtower reads ${HEALTH_FILE_VERSION}`;
  }
  for (const key of ['hostId', 'hostname', 'status'] as const) {
    if (typeof record[key] !== 'string') return `no ${key}`;
  }
  for (const key of ['pid', 'writtenAt', 'writeEveryMs', 'startedAt'] as const) {
    if (typeof record[key] !== 'number') return `no ${key}`;
  }
  if (!Array.isArray(record.supervisors)) return 'no supervisors';
  if (typeof record.heartbeat !== 'object' || record.heartbeat === null) return 'no heartbeat';
  if (typeof record.recorder !== 'object' || record.recorder === null) return 'no recorder';
  return value as HostHealth;
}

/** Whether a process of that pid exists on this machine (one of another user's counts). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A file of another machine untouched this long is dropped by the next host that starts here. */
const FOREIGN_FILE_KEPT_MS = 60 * 60_000;

/**
 * Run by a host as it starts: removes the files of hosts of this machine that are gone (their pid
 * is no more, or it is this very pid: a container restarted as pid 1 again), so one crash does not
 * keep `status --local` failing after the host is back; and files of other machines (a volume
 * moved to a new container) untouched for an hour. Returns the hosts whose files it removed.
 */
export async function pruneHealthFiles(
  dir: string,
  self: { hostId: string; hostname: string; pid: number },
  now = Date.now(),
): Promise<string[]> {
  const removed: string[] = [];
  for (const { file, health } of await readHealthFiles(dir)) {
    if (!health || health.hostId === self.hostId) continue;
    const gone =
      health.hostname === self.hostname
        ? health.pid === self.pid || !pidAlive(health.pid)
        : now - health.writtenAt > FOREIGN_FILE_KEPT_MS;
    if (!gone) continue;
    await rm(file, { force: true });
    removed.push(health.hostId);
  }
  return removed;
}
