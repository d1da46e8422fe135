import { totalmem } from 'node:os';
import { ConfigError } from '../config/load-config';

/**
 * The most worker processes one host keeps, over all its supervisors: `supervisor.scale`,
 * `worker.start` and auto balancing are refused what would pass it, so a command with one zero too
 * many cannot fork the machine into swap.
 *
 * It counts the slots of the host's pools (what `scale` sets), stopped ones included since a
 * restart gives them a process again; processes on their way out (scaled down, finishing their
 * jobs within the grace period) do not count, so a pool scaled down can be scaled up again at once.
 */

/** Memory a worker process is allowed for the default ceiling: ~90 MB idle, more with work. */
export const MEMORY_PER_WORKER_MB = 256;
/** The default never goes past this, however large the machine: beyond it, set it yourself. */
export const DEFAULT_CEILING_MAX = 100;
export const CEILING_ENV = 'WATCHTOWER_MAX_WORKER_PROCESSES';

export interface CeilingSetting {
  limit: number;
  /** Where the limit comes from, for messages: the field, the variable, or the machine's memory. */
  source: string;
}

/** floor(total memory / 256 MB), at least 1 and at most 100. */
export function defaultCeiling(totalBytes = totalmem()): number {
  const byMemory = Math.floor(totalBytes / (MEMORY_PER_WORKER_MB * 1024 * 1024));
  return Math.min(DEFAULT_CEILING_MAX, Math.max(1, byMemory));
}

/**
 * The ceiling: `host.maxWorkerProcesses`, else WATCHTOWER_MAX_WORKER_PROCESSES, else the default
 * from the machine's memory. A variable that is not a whole number from 1 to 10000 throws.
 */
export function ceilingSetting(configured: number | undefined, env: NodeJS.ProcessEnv): CeilingSetting {
  if (configured !== undefined) return { limit: configured, source: 'host.maxWorkerProcesses' };
  const raw = env[CEILING_ENV]?.trim();
  if (raw) {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 10_000) {
      throw new ConfigError(
        `${CEILING_ENV} must be a whole number from 1 to 10000, got ${JSON.stringify(raw)}`,
      );
    }
    return { limit: value, source: CEILING_ENV };
  }
  const gigabytes = (totalmem() / 1024 ** 3).toFixed(1);
  return {
    limit: defaultCeiling(),
    source: `the default for ${gigabytes} GB of memory; set host.maxWorkerProcesses to change it`,
  };
}

/** What commands and auto balancing ask before they add worker processes. */
export class ProcessCeiling {
  /** Growth refused or cut short by the ceiling (commands and auto balancing). */
  refusals = 0;

  constructor(
    public setting: CeilingSetting,
    /** Worker processes the host keeps now. */
    private readonly count: () => number,
  ) {}

  get limit(): number {
    return this.setting.limit;
  }

  get current(): number {
    return this.count();
  }

  /** How many more processes fit (0 when at or over the ceiling). */
  get room(): number {
    return Math.max(0, this.limit - this.count());
  }

  /** How many of `wanted` more processes fit (auto balancing takes what it gets). */
  grant(wanted: number): number {
    const granted = Math.min(wanted, this.room);
    if (granted < wanted) this.refusals++;
    return granted;
  }

  /** Throws, saying the ceiling and the current count, unless `adding` more processes fit. */
  check(adding: number, what: string): void {
    if (adding <= 0) return;
    const current = this.count();
    if (current + adding <= this.limit) return;
    this.refusals++;
    throw new Error(
      `${what} would add ${adding} worker process(es), but this host keeps at most ${this.limit} (${this.setting.source}) and has ${current}`,
    );
  }
}
