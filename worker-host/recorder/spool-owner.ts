import { hostname } from 'node:os';
import { join } from 'node:path';
import type { SpoolFs } from './spool-fs';

/**
 * Who owns which spool files, and whether that owner is still there.
 *
 * Each spool writes `<prefix>.owner` (its host id, machine and pid) before it writes or claims a
 * file, and touches it while it runs. Files named after a prefix (spilled by it, or claimed by it
 * for replay) are another spool's to take once that owner is gone:
 *
 * - it closed (its record says so);
 * - it ran on this machine and its process is no more (a pid check; within this process, a spool
 *   no longer open);
 * - or its record is untouched for the stale period: another machine sharing the directory, a pid
 *   since reused, a process frozen. A live spool touches its record several times per period, so it
 *   is never taken from; if one frozen for longer wakes up, its replay finds its claim gone and
 *   stops, and a file replayed twice counts nothing twice (the upserts are idempotent).
 *
 * A file without a record (written by an earlier version) is taken once the file itself is untouched
 * for the stale period.
 */

interface OwnerRecord {
  hostId: string;
  hostname: string;
  pid: number;
  closed?: boolean;
}

/** Prefixes of the spools open in this process, which a pid check cannot tell apart. */
const openHere = new Set<string>();

export const OWNER_SUFFIX = '.owner';

export function ownerPath(dir: string, prefix: string): string {
  return join(dir, `${prefix}${OWNER_SUFFIX}`);
}

/** This spool's own record. */
export class SpoolOwner {
  private written = false;
  private closed = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly fs: SpoolFs,
    private readonly dir: string,
    private readonly prefix: string,
    private readonly hostId: string,
    private readonly touchEveryMs: number,
  ) {
    openHere.add(prefix);
  }

  /** Writes the record once (again after a failure), before the first file is written or claimed. */
  async ensure(): Promise<void> {
    if (this.written) return;
    await this.write();
    this.written = true;
    if (this.closed || this.timer) return;
    this.timer = setInterval(() => {
      // A record removed from under a live spool (by hand) is written again.
      this.fs.touch(this.path).catch(() => this.write().catch(() => undefined));
    }, this.touchEveryMs);
    this.timer.unref();
  }

  /**
   * This spool is done: its files are for others to take at once. Its record is kept saying so while
   * files of its own are left, and removed otherwise.
   */
  async close(filesLeft: boolean): Promise<void> {
    this.closed = true;
    openHere.delete(this.prefix);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (filesLeft) {
      await this.write();
    } else {
      await this.fs.unlink(this.path).catch(() => undefined);
      this.written = false;
    }
  }

  private get path(): string {
    return ownerPath(this.dir, this.prefix);
  }

  private async write(): Promise<void> {
    const record: OwnerRecord = { hostId: this.hostId, hostname: hostname(), pid: process.pid };
    if (this.closed) record.closed = true;
    // Written whole, then renamed: a reader never sees half a record.
    const temporary = `${this.path}.tmp`;
    await this.fs.writeFile(temporary, JSON.stringify(record));
    await this.fs.rename(temporary, this.path);
  }
}

/**
 * Whether the owner of `prefix` is gone, for one scan of the directory (answers are kept for the
 * scan: a directory of many files of one host reads its record once).
 */
export class OwnerCheck {
  private readonly answers = new Map<string, boolean | 'no record'>();
  private readonly now = Date.now();

  constructor(
    private readonly fs: SpoolFs,
    private readonly dir: string,
    private readonly staleMs: number,
  ) {}

  /** `file`: a file of that owner, whose age decides when it has no record. */
  async gone(prefix: string, file?: string): Promise<boolean> {
    let answer = this.answers.get(prefix);
    if (answer === undefined) {
      answer = await this.judge(prefix);
      this.answers.set(prefix, answer);
    }
    if (answer !== 'no record') return answer;
    if (file === undefined) return true;
    const touched = await this.fs.mtimeMs(join(this.dir, file)).catch(() => undefined);
    return touched !== undefined && this.now - touched >= this.staleMs;
  }

  private async judge(prefix: string): Promise<boolean | 'no record'> {
    const path = ownerPath(this.dir, prefix);
    const [text, touched] = await Promise.all([
      this.fs.readFile(path).catch(() => undefined),
      this.fs.mtimeMs(path).catch(() => undefined),
    ]);
    const record = text === undefined ? undefined : parseRecord(text);
    if (!record || touched === undefined) return 'no record';
    if (record.closed) return true;
    if (record.hostname === hostname()) {
      if (record.pid === process.pid ? !openHere.has(prefix) : !processAlive(record.pid)) return true;
    }
    return this.now - touched >= this.staleMs;
  }
}

function parseRecord(text: string): OwnerRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<OwnerRecord> | null;
    if (
      typeof value?.hostname !== 'string' ||
      typeof value.pid !== 'number' ||
      // 0 and negative pids address process groups: never a spool's owner.
      !Number.isInteger(value.pid) ||
      value.pid <= 0
    ) {
      return undefined;
    }
    return {
      hostId: String(value.hostId),
      hostname: value.hostname,
      pid: value.pid,
      closed: value.closed === true,
    };
  } catch {
    return undefined;
  }
}

/** Signal 0 only checks: ESRCH means no such process; EPERM means one runs, as another user. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
