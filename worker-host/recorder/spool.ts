import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RowBatch } from './record-batch';
import { defaultSpoolDir } from './spool-dir';

/**
 * Where the recorder puts rows it cannot keep in memory while Postgres is away: append-only
 * newline-delimited JSON files, one file per spill, one chunk of rows per line. Replaying a file
 * writes its lines through the same idempotent upserts, so a file replayed twice (a crash between
 * the last write and the unlink, two hosts sharing a directory) counts nothing twice.
 *
 * Files are named `<host>-<time>-<n>.ndjson`. A host replays its own files, and those of other
 * hosts once untouched for `orphanAfterMs` (a host that died before replaying its spill); a file
 * is claimed by renaming it, which only one process can do.
 */
export interface SpoolOptions {
  dir?: string;
  hostId: string;
  orphanAfterMs?: number;
}

interface Replaying {
  path: string;
  lines: string[];
  next: number;
}

export class Spool {
  readonly dir: string;
  private readonly prefix: string;
  private readonly orphanAfterMs: number;
  private sequence = 0;
  private ready: Promise<void> | undefined;
  private replaying: Replaying | undefined;
  /** Rows appended by this process and not yet replayed. */
  pendingRows = 0;
  /** Lines that could not be parsed (a write cut short by a crash); their rows are lost. */
  corruptLines = 0;
  /** Set when a spill happened since the directory was last found empty, to skip idle scans. */
  private maybeWork = true;
  private lastEmptyScan = 0;

  constructor(options: SpoolOptions) {
    this.dir = options.dir ?? defaultSpoolDir();
    this.prefix = options.hostId.replace(/[^A-Za-z0-9_.-]/g, '_');
    this.orphanAfterMs = options.orphanAfterMs ?? 60_000;
  }

  private ensureDir(): Promise<void> {
    // For this user alone: the files hold job data (spool-dir.ts checks the directory at start).
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready.catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
  }

  /** Writes the batches as one new file and syncs it; throws when the disk will not take them. */
  async append(batches: RowBatch[]): Promise<void> {
    await this.ensureDir();
    const name = `${this.prefix}-${Date.now()}-${this.sequence++}.ndjson`;
    const path = join(this.dir, name);
    // Written under a temporary name, then renamed: a replayer never sees a half-written file.
    const temporary = `${path}.part`;
    const handle = await open(temporary, 'a', 0o600);
    let rows = 0;
    try {
      for (const batch of batches) {
        rows += batch.jobs.length + batch.attempts.length;
        await handle.write(`${JSON.stringify(batch)}\n`);
      }
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    this.pendingRows += rows;
    this.maybeWork = true;
  }

  /**
   * Replays up to `maxLines` lines through `write`, resuming where the last call stopped. Returns
   * the rows written. A failed write throws and leaves the file where it is, to resume later.
   */
  async replay(write: (batch: RowBatch) => Promise<void>, maxLines: number): Promise<number> {
    if (!this.replaying && !(await this.claimNext())) return 0;
    const current = this.replaying as Replaying;
    let rows = 0;
    let lines = 0;
    while (current.next < current.lines.length && lines < maxLines) {
      const line = current.lines[current.next] ?? '';
      let batch: RowBatch | undefined;
      try {
        batch = line.trim() === '' ? undefined : (JSON.parse(line) as RowBatch);
      } catch {
        this.corruptLines++;
      }
      if (batch) {
        await write(batch);
        const n = batch.jobs.length + batch.attempts.length;
        rows += n;
        this.pendingRows = Math.max(0, this.pendingRows - n);
      }
      current.next++;
      lines++;
    }
    if (current.next >= current.lines.length) {
      await unlink(current.path).catch(() => undefined);
      this.replaying = undefined;
    }
    return rows;
  }

  /**
   * Whether a spool file may be waiting. Cheap: the directory is scanned again only after a spill,
   * or once per `orphanAfterMs` to find files left by a host that died.
   */
  get hasWork(): boolean {
    return (
      this.replaying !== undefined || this.maybeWork || Date.now() - this.lastEmptyScan > this.orphanAfterMs
    );
  }

  private async claimNext(): Promise<boolean> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      this.maybeWork = false;
      this.lastEmptyScan = Date.now();
      return false;
    }
    const mine = `${this.prefix}-`;
    const claimedSuffix = `.replaying-${this.prefix}`;
    const now = Date.now();
    // Own files first, oldest first (the names sort by time within a host).
    // A `.part` file is a spill still being written, or one whose writer died mid-write: only the
    // latter (untouched for `orphanAfterMs`) is replayed, all but a cut-off last line.
    const candidates = names
      .filter((n) => n.endsWith('.ndjson') || n.endsWith('.ndjson.part') || n.endsWith(claimedSuffix))
      .sort();
    candidates.sort((a, b) => Number(!a.startsWith(mine)) - Number(!b.startsWith(mine)));
    for (const name of candidates) {
      const path = join(this.dir, name);
      let claimed = path;
      if (!name.endsWith(claimedSuffix)) {
        if (!name.startsWith(mine) || name.endsWith('.part')) {
          const info = await stat(path).catch(() => undefined);
          if (!info || now - info.mtimeMs < this.orphanAfterMs) continue;
        }
        claimed = `${path}${claimedSuffix}`;
        try {
          await rename(path, claimed);
        } catch {
          continue; // another process claimed it first
        }
      }
      const text = await readFile(claimed, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      this.replaying = { path: claimed, lines: text.split('\n'), next: 0 };
      return true;
    }
    this.maybeWork = false;
    this.lastEmptyScan = Date.now();
    return false;
  }
}
