import { z } from 'zod';

/**
 * The bounds of a supervisor's settings, shared by the host's configuration file
 * (worker-host/config/config-schema.ts) and the supervisor configurations kept in the database
 * (functions/schemas/supervisor-configs.ts), so a value one accepts the other accepts too.
 * Durations are in seconds and memory in megabytes, like Horizon's options.
 */

// Names end up in bus targets, Redis keys and log lines: printable ASCII without spaces.
export const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const seconds = (min: number, max: number) =>
  z
    .number({ message: 'must be a number of seconds' })
    .min(min, `must be at least ${min} seconds`)
    .max(max, `must be at most ${max} seconds`);

export const count = (min: number, max: number) =>
  z
    .number({ message: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

export const BALANCE_STRATEGIES = ['simple', 'auto'] as const;
export type BalanceStrategy = (typeof BALANCE_STRATEGIES)[number];

/** The settings both kinds of supervisor share, without defaults (each side sets its own). */
export const supervisorFields = {
  queues: z
    .array(identifier, { message: 'must be a list of queue names' })
    .min(1, 'must name at least one queue')
    .max(100, 'must name at most 100 queues'),
  /** Worker processes the supervisor keeps on each of its queues, whatever the load (as Horizon). */
  minProcesses: count(0, 1000),
  /** Worker processes of the supervisor in total, over all its queues (as Horizon). */
  maxProcesses: count(1, 1000),
  /** `simple`: processes split evenly over the queues; `auto`: by each queue's time to clear. */
  balance: z.enum(BALANCE_STRATEGIES, { message: 'must be "simple" or "auto"' }),
  /** Jobs one worker process runs at once (BullMQ's `concurrency`). */
  concurrency: count(1, 1000),
  /** Runs of a job before it stays failed, when the job does not set `attempts` itself. */
  tries: count(1, 1000),
  /** Seconds a job may run before it fails as timed out; 0 for no limit. */
  timeout: seconds(0, 24 * 3600),
  /** Megabytes of RSS above which a worker process restarts between jobs; 0 for no limit. */
  memory: count(0, 1_000_000),
  /** Seconds a worker waits for a job on an empty queue before asking again (BullMQ's drainDelay). */
  sleep: seconds(0, 300),
  /** Seconds a worker rests after each job. */
  rest: seconds(0, 3600),
};

/** The defaults of the file's supervisors, which a database configuration gets too. */
export const SUPERVISOR_DEFAULTS = {
  minProcesses: 1,
  balance: 'simple',
  concurrency: 1,
  tries: 1,
  timeout: 60,
  memory: 512,
  sleep: 3,
  rest: 0,
} as const;

/** What is wrong with maxProcesses against minProcesses × queues, or null. */
export function processFloorProblem(
  minProcesses: number,
  queues: number,
  maxProcesses: number,
): string | null {
  const floor = minProcesses * queues;
  return maxProcesses < floor
    ? `must be at least minProcesses × queues (${minProcesses} × ${queues} = ${floor}), got ${maxProcesses}`
    : null;
}

/** Queues listed twice: their indexes and names. */
export function repeatedQueues(queues: readonly string[]): { index: number; queue: string }[] {
  const seen = new Set<string>();
  const repeated: { index: number; queue: string }[] = [];
  queues.forEach((queue, index) => {
    if (seen.has(queue)) repeated.push({ index, queue });
    seen.add(queue);
  });
  return repeated;
}

/**
 * A processor module named by a database configuration: a path relative to the host's processors
 * directory. Absolute paths and `..` are refused here (the API answers 400) and again on the host
 * after realpath (a symlink may still point out): a dashboard admin can never make a host run code
 * its owner did not install.
 */
export function processorPathProblem(path: string): string | null {
  if (path.length === 0) return 'must be a module path';
  if (path.length > 1024) return 'must be at most 1024 characters';
  if ([...path].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f))
    return 'must not contain control characters';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path) || path.startsWith('~')) {
    return "must be relative to the host's processors directory (--processors-dir), not an absolute path";
  }
  if (path.includes('\\')) return 'must use / between directories';
  if (path.split('/').some((part) => part === '..')) {
    return "must stay inside the host's processors directory: `..` is not allowed";
  }
  return null;
}

/** A host label: what a selector matches (`web`, `eu-west`, `gpu`). */
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const LABEL_MESSAGE =
  'must be letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)';

/** The labels of `--labels web,eu` or WATCHTOWER_HOST_LABELS; throws naming a bad one. */
export function parseLabels(text: string | undefined): string[] {
  const labels = (text ?? '')
    .split(',')
    .map((label) => label.trim())
    .filter(Boolean);
  for (const label of labels) {
    if (!LABEL_PATTERN.test(label)) throw new Error(`label "${label}" ${LABEL_MESSAGE}`);
  }
  return [...new Set(labels)];
}

/** Postgres channel a change to the supervisor configurations (or their connections) is announced on. */
export const CONFIG_CHANNEL = 'watchtower_config';
