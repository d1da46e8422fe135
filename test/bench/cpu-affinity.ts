import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Pins processes to CPUs for a benchmark (Linux `taskset`), and puts every one back as it was.
 * Used to run the host (worker, supervisor, Redis) on one core with Postgres on another, the way a
 * host runs with Postgres on another machine (Neon in production), on a machine that has one.
 */
export interface Pinning {
  /** Pins every thread of `pid` to `cpus` (a taskset list: "0", "1-3"), remembering its mask. */
  pin(pid: number, cpus: string): void;
  restore(): void;
}

export function canPin(): boolean {
  if (process.platform !== 'linux' || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function pinning(): Pinning {
  const original = new Map<number, string>();
  return {
    pin(pid, cpus) {
      try {
        if (!original.has(pid)) {
          const shown = execFileSync('taskset', ['-p', String(pid)], { encoding: 'utf8', stdio: 'pipe' });
          const mask = /mask:\s*([0-9a-f]+)/i.exec(shown)?.[1];
          if (!mask) throw new Error(`taskset printed no mask for ${pid}: ${shown}`);
          original.set(pid, mask);
        }
        execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'pipe' });
      } catch (error) {
        // A process that ended since it was listed (a Postgres backend whose client closed).
        if (existsSync(`/proc/${pid}`)) throw error;
      }
    },
    restore() {
      for (const [pid, mask] of original) {
        try {
          execFileSync('taskset', ['-a', '-p', mask, String(pid)], { stdio: 'pipe' });
        } catch {
          // The process has ended meanwhile (a Postgres backend whose client closed).
        }
      }
      original.clear();
    },
  };
}

/** Pids of the running processes whose name is `name` (`pgrep -x`). */
export function pidsOf(name: string): number[] {
  try {
    return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
