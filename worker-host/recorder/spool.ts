import { join } from 'node:path';
import type { RowBatch } from './record-batch';
import { defaultSpoolDir } from './spool-dir';
import { nodeSpoolFs, type SpoolFs } from './spool-fs';
import { parseSpoolLine } from './spool-line';
import { parseSpoolName, type SpoolName, spoolPrefix } from './spool-name';
import { OWNER_SUFFIX, OwnerCheck, SpoolOwner } from './spool-owner';

/**
 * Where the recorder puts rows it cannot keep in memory while Postgres is away: append-only
 * newline-delimited JSON files, one file per spill, one chunk of rows per line. Replaying a file
 * writes its lines through the same idempotent upserts, so a file replayed twice (a crash between
 * the last write and the unlink, two hosts sharing a directory) counts nothing twice.
 *
 * Files are named `<prefix>-<time>-<n>.ndjson` after the host that spilled them (`.part` while
 * being written). A file is claimed for replay by renaming it `<name>.claimed-<prefix>`, which only
 * one process can do. A host replays its own files, and takes another's files and claims once that
 * host is gone (spool-owner.ts): a host that died, was redeployed or was killed mid-replay leaves
 * nothing behind for good. A line that is not a batch of rows is set aside in `corrupt/<name>` and
 * counted; the rest of its file is replayed.
 */

export interface SpoolOptions {
  dir?: string;
  hostId: string;
  /** Another host is taken to be gone once its record (or, without one, its file) is untouched this long. */
  orphanAfterMs?: number;
  /** Told when a line is set aside, or cannot be. */
  onError?: (error: Error) => void;
  /** Node's file system unless a test makes a fault happen. */
  fs?: SpoolFs;
}

interface Replaying {
  path: string;
  base: string;
  own: boolean;
  lines: string[];
  next: number;
}

export class Spool {
  readonly dir: string;
  readonly prefix: string;
  private readonly orphanAfterMs: number;
  private readonly fs: SpoolFs;
  private readonly owner: SpoolOwner;
  private readonly onError: (error: Error) => void;
  private sequence = 0;
  private dirReady = false;
  private replaying: Replaying | undefined;
  /** This process's files not yet replayed, by name: rows left in each. */
  private readonly mine = new Map<string, number>();
  /** Files of `mine` a scan did not find: forgotten when the next scan does not find them either. */
  private readonly missing = new Set<string>();
  /** Rows written by replays, counted as each line is written (so in step with `pendingRows`). */
  replayedRows = 0;
  /** Lines that were not a batch of rows (a write cut short by a crash), set aside. */
  corruptLines = 0;
  /** Set when a spill happened since the directory was last found empty, to skip idle scans. */
  private maybeWork = true;
  private lastScan = 0;

  constructor(options: SpoolOptions) {
    this.dir = options.dir ?? defaultSpoolDir();
    this.prefix = spoolPrefix(options.hostId);
    this.orphanAfterMs = options.orphanAfterMs ?? 60_000;
    this.fs = options.fs ?? nodeSpoolFs;
    this.onError = options.onError ?? (() => undefined);
    // Touched several times per stale period, so that a live host never looks gone.
    const touchEveryMs = Math.min(15_000, Math.max(250, this.orphanAfterMs / 4));
    this.owner = new SpoolOwner(this.fs, this.dir, this.prefix, options.hostId, touchEveryMs);
  }

  /**
   * Rows this process spooled that are not replayed yet. A file of its own that another host
   * replayed stops counting once a scan finds it gone.
   */
  get pendingRows(): number {
    let rows = 0;
    for (const n of this.mine.values()) rows += n;
    return rows;
  }

  /** The directory and this host's record in it, before a file is written or claimed. */
  private async prepare(): Promise<void> {
    if (!this.dirReady) {
      await this.fs.mkdir(this.dir);
      this.dirReady = true;
    }
    await this.owner.ensure();
  }

  /** Writes the batches as one new file and syncs it; throws when the disk will not take them. */
  async append(batches: RowBatch[]): Promise<void> {
    await this.prepare();
    const name = `${this.prefix}-${Date.now()}-${this.sequence++}.ndjson`;
    const path = join(this.dir, name);
    // Written under a temporary name, then renamed: a replayer never sees a half-written file.
    const temporary = `${path}.part`;
    let rows = 0;
    try {
      const file = await this.fs.create(temporary);
      try {
        for (const batch of batches) {
          rows += batch.jobs.length + batch.attempts.length;
          await file.write(`${JSON.stringify(batch)}\n`);
        }
        await file.datasync();
      } finally {
        await file.close();
      }
      await this.fs.rename(temporary, path);
    } catch (error) {
      // The caller counts these rows as dropped: a part left behind would be replayed by another
      // host later, the rows then both dropped and written.
      await this.fs.unlink(temporary).catch(() => undefined);
      throw error;
    }
    this.mine.set(name, rows);
    this.maybeWork = true;
  }

  /**
   * Replays up to `maxLines` lines through `write`, resuming where the last call stopped. Returns
   * the rows written. A failed write throws and leaves the file where it is, to resume later.
   */
  async replay(write: (batch: RowBatch) => Promise<void>, maxLines: number): Promise<number> {
    // A claim taken over by another host while this one was stuck (see spool-owner.ts) is theirs.
    if (this.replaying && !(await this.exists(this.replaying.path))) this.replaying = undefined;
    if (!this.replaying && !(await this.claimNext())) return 0;
    const current = this.replaying as Replaying;
    let rows = 0;
    let lines = 0;
    while (current.next < current.lines.length && lines < maxLines) {
      const line = current.lines[current.next] ?? '';
      if (line.trim() !== '') {
        const batch = parseSpoolLine(line);
        if (batch) {
          await write(batch);
          const n = batch.jobs.length + batch.attempts.length;
          rows += n;
          this.replayedRows += n;
          const left = this.mine.get(current.base);
          if (current.own && left !== undefined) this.mine.set(current.base, Math.max(0, left - n));
        } else {
          await this.setAside(current.base, line);
        }
      }
      current.next++;
      lines++;
    }
    if (current.next >= current.lines.length) {
      await this.fs.unlink(current.path).catch(() => undefined);
      this.mine.delete(current.base);
      this.missing.delete(current.base);
      this.replaying = undefined;
    }
    return rows;
  }

  /**
   * Whether a spool file may be waiting. Cheap: the directory is scanned again after a spill, once
   * a second while files of this process wait (another host may have replayed them), and once per
   * `orphanAfterMs` to find files left by a host that died.
   */
  get hasWork(): boolean {
    return this.replaying !== undefined || this.maybeWork || this.nextScanInMs() === 0;
  }

  /** How long until a scan is due when nothing else asks for one. */
  nextScanInMs(): number {
    const every = this.mine.size > 0 ? Math.min(1_000, this.orphanAfterMs) : this.orphanAfterMs;
    return Math.max(0, this.lastScan + every - Date.now());
  }

  /** Done: files left here are for the next host to take at once. */
  async close(): Promise<void> {
    await this.owner.close(this.mine.size > 0 || this.replaying !== undefined).catch(() => undefined);
  }

  private async claimNext(): Promise<boolean> {
    // Only files written before the listing began can be missing from it.
    const known = [...this.mine.keys()];
    const names = await this.fs.readdir(this.dir).catch(() => [] as string[]);
    this.lastScan = Date.now();
    const files = names.map(parseSpoolName).filter((f): f is SpoolName => f !== undefined);
    this.forgetReplayedElsewhere(known, files);
    // Own files first, then oldest first.
    const own = (f: SpoolName) => Number(f.origin !== this.prefix || f.claimer !== undefined);
    files.sort((a, b) => own(a) - own(b) || a.time - b.time || (a.name < b.name ? -1 : 1));
    const owners = new OwnerCheck(this.fs, this.dir, this.orphanAfterMs);
    for (const file of files) {
      if (!(await this.mayTake(file, owners))) continue;
      try {
        await this.prepare();
      } catch {
        break; // no record, no claim: this host could not be told from a dead one
      }
      const claimed = join(this.dir, `${file.base}.claimed-${this.prefix}`);
      if (join(this.dir, file.name) !== claimed) {
        try {
          await this.fs.rename(join(this.dir, file.name), claimed);
        } catch {
          continue; // another process claimed it first
        }
      }
      const text = await this.fs.readFile(claimed).catch(() => undefined);
      if (text === undefined) continue;
      const isOwn = file.origin === this.prefix;
      this.replaying = { path: claimed, base: file.base, own: isOwn, lines: text.split('\n'), next: 0 };
      return true;
    }
    await this.forgetGoneOwners(names, files, owners);
    this.maybeWork = false;
    return false;
  }

  /**
   * A file of this process no longer here, under any claim, was replayed by another host: its rows
   * are no longer pending here. Missing from two listings in a row, as a listing taken while
   * another host renames the file to claim it may show neither name.
   */
  private forgetReplayedElsewhere(known: string[], files: SpoolName[]): void {
    const present = new Set(files.map((f) => f.base));
    for (const name of known) {
      if (present.has(name) || !this.mine.has(name)) {
        this.missing.delete(name);
      } else if (this.missing.has(name)) {
        this.mine.delete(name);
        this.missing.delete(name);
      } else {
        this.missing.add(name);
      }
    }
  }

  private mayTake(file: SpoolName, owners: OwnerCheck): Promise<boolean> | boolean {
    if (file.claimer === this.prefix) return true; // a claim of this process it no longer holds
    if (file.claimer !== undefined) return owners.gone(file.claimer, file.name);
    // A part of its own is being written; another's is what a host that died mid-write left.
    if (file.origin === this.prefix) return !file.part;
    return owners.gone(file.origin, file.name);
  }

  /** Records of owners that are gone and have no file left are removed. */
  private async forgetGoneOwners(names: string[], files: SpoolName[], owners: OwnerCheck): Promise<void> {
    const named = new Set<string>();
    for (const file of files) {
      named.add(file.origin);
      if (file.claimer) named.add(file.claimer);
    }
    for (const name of names) {
      if (!name.endsWith(OWNER_SUFFIX)) continue;
      const prefix = name.slice(0, -OWNER_SUFFIX.length);
      if (prefix === this.prefix || named.has(prefix) || !(await owners.gone(prefix))) continue;
      await this.fs.unlink(join(this.dir, name)).catch(() => undefined);
    }
  }

  /** A line that is not a batch of rows goes to `corrupt/<file>`, where a person can look at it. */
  private async setAside(base: string, line: string): Promise<void> {
    this.corruptLines++;
    const path = join(this.dir, 'corrupt', base);
    try {
      await this.fs.mkdir(join(this.dir, 'corrupt'));
      await this.fs.appendFile(path, `${line}\n`);
      this.onError(
        new Error(`spool ${this.dir}: a line of ${base} is not a batch of rows; set aside in ${path}`),
      );
    } catch (error) {
      this.onError(
        new Error(
          `spool ${this.dir}: a line of ${base} is not a batch of rows, and could not be set aside: ${(error as Error).message}`,
        ),
      );
    }
  }

  private async exists(path: string): Promise<boolean> {
    return this.fs.mtimeMs(path).then(
      () => true,
      () => false,
    );
  }
}
