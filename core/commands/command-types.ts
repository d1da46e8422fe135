import { z } from 'zod';
import type { TargetKind } from '../bus/command-bus';
import { MIN_SEARCH_LENGTH } from '../db/job-search';

/**
 * Every command a worker-host carries out, with the targets it may be addressed to and its
 * arguments. The HTTP API validates requests with these schemas before putting a command on the
 * bus; the worker-host validates again when it claims one (a command may come from an older API or
 * straight from the bus), so a malformed command fails with a message naming the field instead of
 * doing half of something.
 */

const name = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const queueName = name;
const jobId = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
// Postgres has no year 0: such a date would pass here and fail the host's query instead.
const isoDate = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time' })
  .refine((value) => !value.startsWith('0000-'), 'must be a date-time from year 1 on');

const none = z.strictObject({});

/** Which failed jobs a bulk command touches; every field narrows the set (they combine with AND). */
export const failedJobFilterSchema = z.strictObject({
  connection: name.optional(),
  queue: queueName.optional(),
  /** The job's name (BullMQ's `job.name`), exact. */
  name: name.optional(),
  /** Words to look for in the job id, name, exception or data, as the failed list searches (core/db/job-search.ts). */
  search: z
    .string()
    .min(MIN_SEARCH_LENGTH, `must be at least ${MIN_SEARCH_LENGTH} characters`)
    .max(200)
    .optional(),
  /** Only jobs that failed at or after / before these instants. */
  failedAfter: isoDate.optional(),
  failedBefore: isoDate.optional(),
});
export type FailedJobFilter = z.infer<typeof failedJobFilterSchema>;

const jobArgs = z.strictObject({
  queue: queueName,
  jobId,
  /** The connection's name; defaults to the command's connection target, or `default`. */
  connection: name.optional(),
  /**
   * BullMQ's timestamp of the job meant (`job.timestamp`, ms; the API's `jobTimestamp`). BullMQ
   * gives a removed job's id to the next job added with it: with this, the host acts only on the
   * job the sender saw, and refuses when the id now holds another. Without it, on whatever job
   * holds the id.
   */
  timestamp: z.number().int().min(0).max(8_640_000_000_000_000).optional(),
});

const jobRetryArgs = jobArgs.extend({
  /** Retry only a job in this state (the failed list sends `failed`); without it, failed or completed. */
  state: z.enum(['failed', 'completed']).optional(),
});

const workerArgs = z.strictObject({ workerId: name.optional() });

const queueArgs = z.strictObject({ queue: queueName, connection: name.optional() });

const bulkArgs = z.strictObject({
  filter: failedJobFilterSchema.default({}),
  /** Most jobs one command touches; the rest wait for another command. */
  limit: z.number().int().min(1).max(1_000_000).default(100_000),
});

/** A connection kept in the database (watchtower_connections.id). */
const connectionId = z.uuid({ message: 'must be a connection id (a UUID)' });

/** The most a queue discovery looks at: it must stay cheap on a Redis holding millions of keys. */
export const DISCOVERY_LIMITS = { scannedKeys: 20_000, queues: 1_000, count: 1_000 } as const;

const discoverArgs = z.strictObject({
  connectionId,
  /**
   * Lower bounds than the defaults (never higher): so a test, or an operator sending the command
   * by hand, can see a bounded discovery stop without filling a Redis with 20,000 keys.
   */
  limits: z
    .strictObject({
      scannedKeys: z.number().int().min(1).max(DISCOVERY_LIMITS.scannedKeys).optional(),
      queues: z.number().int().min(1).max(DISCOVERY_LIMITS.queues).optional(),
      count: z.number().int().min(1).max(DISCOVERY_LIMITS.count).optional(),
    })
    .optional(),
});

interface CommandDefinition<Args extends z.ZodType> {
  targets: readonly TargetKind[];
  args: Args;
  summary: string;
}

function define<Args extends z.ZodType>(definition: CommandDefinition<Args>): CommandDefinition<Args> {
  return definition;
}

/**
 * Worker commands go to the worker's own target (ordered per worker), or to its host with
 * `args.workerId`: the host then answers for an id it does not know, where a worker target that no
 * host answers for could only expire.
 */
const WORKER_SIDE: readonly TargetKind[] = ['worker', 'host'];
const SUPERVISOR: readonly TargetKind[] = ['supervisor'];
const HOST: readonly TargetKind[] = ['host'];
/** Job and queue commands go to "any host that can reach connection C", or to one host. */
const QUEUE_SIDE: readonly TargetKind[] = ['connection', 'host'];

export const commandDefinitions = {
  'worker.stop': define({
    targets: WORKER_SIDE,
    args: workerArgs,
    summary: 'Finish the current jobs, then exit; the worker stays listed as stopped until restarted.',
  }),
  'worker.pause': define({
    targets: WORKER_SIDE,
    args: workerArgs,
    summary: 'Take no new jobs; current jobs finish.',
  }),
  'worker.resume': define({
    targets: WORKER_SIDE,
    args: workerArgs,
    summary: 'Take jobs again after a pause.',
  }),
  'worker.restart': define({
    targets: WORKER_SIDE,
    args: workerArgs,
    summary:
      'Finish the current jobs and start a fresh process with the same worker id (also starts a stopped one).',
  }),
  'worker.start': define({
    targets: ['supervisor', 'host'],
    args: z.strictObject({ queue: queueName, supervisor: name.optional() }),
    summary: 'Start one more worker process on a queue, in the named supervisor or the one that serves it.',
  }),
  'supervisor.scale': define({
    targets: SUPERVISOR,
    args: z.strictObject({
      processes: z.number().int().min(0).max(1000),
      /** Scale one queue's pool; without it, the total is spread over the supervisor's queues. */
      queue: queueName.optional(),
    }),
    summary: 'Set the number of worker processes (outside min/max, the bound moves for this run).',
  }),
  'supervisor.pause': define({
    targets: SUPERVISOR,
    args: none,
    summary: 'Pause every worker process of the supervisor.',
  }),
  'supervisor.continue': define({
    targets: SUPERVISOR,
    args: none,
    summary: 'Resume every worker process of the supervisor.',
  }),
  'supervisor.terminate': define({
    targets: SUPERVISOR,
    args: none,
    summary: 'Stop the supervisor and its worker processes gracefully; the host keeps running.',
  }),
  'job.retry': define({
    targets: QUEUE_SIDE,
    args: jobRetryArgs,
    summary: 'Put a job back on its queue: job.retry() while BullMQ has it, else re-add its stored payload.',
  }),
  'job.delete': define({ targets: QUEUE_SIDE, args: jobArgs, summary: 'Remove a job from its queue.' }),
  'failed.retry-all': define({
    targets: QUEUE_SIDE,
    args: bulkArgs,
    summary: 'Retry every failed job matching the filter, reporting progress.',
  }),
  'failed.delete-all': define({
    targets: QUEUE_SIDE,
    args: bulkArgs,
    summary: 'Delete every failed job matching the filter, reporting progress.',
  }),
  'queue.pause': define({
    targets: QUEUE_SIDE,
    args: queueArgs,
    summary: 'Pause a queue for every worker (BullMQ queue.pause()).',
  }),
  'queue.resume': define({ targets: QUEUE_SIDE, args: queueArgs, summary: 'Resume a paused queue.' }),
  'host.reload': define({
    targets: HOST,
    args: none,
    summary: 'Read the configuration file again and apply the changes to supervisors.',
  }),
  'host.restart': define({
    targets: HOST,
    args: none,
    summary: 'Restart every worker process gracefully (new code is loaded; the host stays up).',
  }),
  'host.terminate': define({
    targets: HOST,
    args: z.strictObject({
      /** Seconds current jobs get to finish before their processes are killed. */
      graceSeconds: z.number().int().min(0).max(3600).optional(),
    }),
    summary: 'Terminate the host gracefully: stop taking jobs, let current ones finish, then exit.',
  }),
  'connection.test': define({
    targets: HOST,
    args: z.strictObject({ connectionId }),
    summary:
      'Connect to a connection kept in the database with its opened secret and report latency, version and memory (ConnectionTestResult).',
  }),
  'connection.discover': define({
    targets: HOST,
    args: discoverArgs,
    summary:
      'List the BullMQ queues on a Redis connection by SCAN (never KEYS), bounded (ConnectionDiscoverResult).',
  }),
} as const;

export type CommandType = keyof typeof commandDefinitions;
export const COMMAND_TYPES = Object.keys(commandDefinitions) as CommandType[];
export type CommandArgs<T extends CommandType> = z.output<(typeof commandDefinitions)[T]['args']>;
export type CommandArgsInput<T extends CommandType> = z.input<(typeof commandDefinitions)[T]['args']>;

export function isCommandType(type: string): type is CommandType {
  return Object.hasOwn(commandDefinitions, type);
}

export type ParsedCommand = { [T in CommandType]: { type: T; args: CommandArgs<T> } }[CommandType];

export class CommandValidationError extends Error {
  override readonly name = 'CommandValidationError';
  constructor(
    message: string,
    /** Dotted paths of the fields that were wrong (`args.filter.queue`), for API error bodies. */
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/**
 * Checks a command's type, target kind and arguments; returns the arguments with defaults applied.
 * Throws CommandValidationError whose message names each wrong field and what is wrong with it.
 */
export function parseCommand(input: {
  type: string;
  target: { kind: string };
  args?: unknown;
}): ParsedCommand {
  const { type } = input;
  if (!isCommandType(type)) {
    throw new CommandValidationError(
      `unknown command type ${JSON.stringify(type)}; known types: ${COMMAND_TYPES.join(', ')}`,
      ['type'],
    );
  }
  const definition: CommandDefinition<z.ZodType> = commandDefinitions[type];
  if (!(definition.targets as readonly string[]).includes(input.target.kind)) {
    throw new CommandValidationError(
      `${type} cannot be sent to a ${input.target.kind}; it goes to a ${definition.targets.join(' or a ')}`,
      ['target.kind'],
    );
  }
  const parsed = definition.args.safeParse(input.args ?? {});
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => ['args', ...issue.path.map(String)].join('.'));
    throw new CommandValidationError(`${type}: ${describeIssues(parsed.error.issues, 'args')}`, fields);
  }
  const workerId = (parsed.data as { workerId?: unknown }).workerId;
  if (type.startsWith('worker.') && type !== 'worker.start' && input.target.kind === 'host' && !workerId) {
    throw new CommandValidationError(`${type}: args.workerId: required when the command goes to a host`, [
      'args.workerId',
    ]);
  }
  return { type, args: parsed.data } as ParsedCommand;
}

/** `args.filter.queue: must not be empty; args.limit: ...`: one readable line, field by field. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], root?: string): string {
  return issues
    .map((issue) => {
      const path = [...(root ? [root] : []), ...issue.path.map(String)].join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Where a long command (a bulk retry or delete) keeps its progress while it runs: a key/value entry
 * on the bus, so the API can show it next to the command's status without a table of its own.
 */
export function commandProgressKey(commandId: string): string {
  // Not under `watchtower:command:`: the bus keeps that prefix for its own command records.
  return `watchtower:progress:${commandId}`;
}

/** What a bulk command reports while it runs and in its final result. */
export interface BulkProgress {
  /** Failed jobs matching the filter that were looked at so far. */
  processed: number;
  /** Put back on their queue with BullMQ's `job.retry()`. */
  retried: number;
  /** Re-added from the stored payload because BullMQ no longer had them. */
  readded: number;
  deleted: number;
  /** Matched but left alone (running again already, or gone everywhere). */
  skipped: number;
  failed: number;
  /** The first few failures, for the operator. */
  errors: Array<{ jobId: string; queue: string; error: string }>;
  /** False while running, and when the command stopped early (host terminating, limit reached). */
  complete: boolean;
}

/** What `connection.test` answers, whatever happened: a failure is `ok: false` with `error`. */
export interface ConnectionTestResult {
  ok: boolean;
  /** Round trip of a PING (Redis) or `select 1` (Postgres), once connected. */
  latencyMs: number | null;
  serverVersion: string | null;
  usedMemoryBytes: number | null;
  maxmemoryPolicy: string | null;
  /** False when the server refused the credentials, or was never reached. */
  authenticated: boolean;
  /** One line, never holding the secret. */
  error: string | null;
}

/** What `connection.discover` answers. */
export interface ConnectionDiscoverResult {
  /** Queue names found (a `<prefix>:<name>:meta` key), sorted, each once. */
  queues: string[];
  /** True when the scan stopped at a bound before it had seen every key. */
  truncated: boolean;
  /** Keys the scan looked at (SCAN examines about COUNT keys per call; a finished scan, all of them). */
  scannedKeys: number;
}
