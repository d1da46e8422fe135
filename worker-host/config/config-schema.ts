import { z } from 'zod';
import {
  BALANCE_STRATEGIES,
  type BalanceStrategy,
  count,
  identifier,
  processFloorProblem,
  repeatedQueues,
  SUPERVISOR_DEFAULTS,
  seconds,
  supervisorFields,
} from '../../core/config/supervisor-fields';
import { MAX_PAYLOAD_CAP, MIN_PAYLOAD_CAP } from '../recorder/payload-cap';

/**
 * The worker-host configuration file, as users write it. Durations are in seconds and memory in
 * megabytes, like Horizon's options, so a Horizon user can carry numbers over.
 */

export const CONNECTION_URL_PATTERN = /^(rediss?|postgres(ql)?):\/\/./;

export const connectionSchema = z.strictObject({
  url: z
    .string({ message: 'must be a string: redis://, rediss:// or postgres://' })
    .regex(
      CONNECTION_URL_PATTERN,
      'must start with redis:// or rediss:// (BullMQ on Redis) or postgres:// (BullMQ on Postgres)',
    ),
});

export { BALANCE_STRATEGIES };

/** A variable name, `PREFIX_*` for every variable that starts so, or `*` for all of them. */
const passedVariable = z
  .string()
  .regex(/^(\*|[A-Za-z_][A-Za-z0-9_]*\*?)$/, 'must be a variable name, NAME_* or *');

export const supervisorSchema = z
  .strictObject({
    name: identifier,
    connection: identifier.default('default'),
    // Bounds shared with the supervisors kept in the database (core/config/supervisor-fields.ts).
    queues: supervisorFields.queues,
    minProcesses: supervisorFields.minProcesses.default(SUPERVISOR_DEFAULTS.minProcesses),
    maxProcesses: supervisorFields.maxProcesses.optional(),
    balance: supervisorFields.balance.default(SUPERVISOR_DEFAULTS.balance),
    /** Seconds between two auto-balancing steps. */
    balanceCooldown: seconds(0, 3600).default(3),
    /** Most processes auto balancing adds or removes in one step, per queue. */
    balanceMaxShift: count(1, 100).default(1),
    concurrency: supervisorFields.concurrency.default(SUPERVISOR_DEFAULTS.concurrency),
    tries: supervisorFields.tries.default(SUPERVISOR_DEFAULTS.tries),
    timeout: supervisorFields.timeout.default(SUPERVISOR_DEFAULTS.timeout),
    memory: supervisorFields.memory.default(SUPERVISOR_DEFAULTS.memory),
    sleep: supervisorFields.sleep.default(SUPERVISOR_DEFAULTS.sleep),
    rest: supervisorFields.rest.default(SUPERVISOR_DEFAULTS.rest),
    /**
     * Variables its processors need among those worker processes do not get by default
     * (DATABASE_URL, WATCHTOWER_*, UPSTASH_*: Watchtower's own, supervisor/worker-env.ts).
     */
    passEnv: z.array(passedVariable, { message: 'must be a list of variable names' }).max(1000).default([]),
    /**
     * Seconds a running job's lock lasts (BullMQ's `lockDuration`; renewed every half of it). A job
     * whose worker process died is found stalled once its lock has run out, and runs again.
     */
    lockDuration: seconds(1, 3600).default(30),
    /** Seconds between two checks for stalled jobs (BullMQ's `stalledInterval`). */
    stalledInterval: seconds(1, 3600).default(30),
  })
  .transform((supervisor) => ({
    ...supervisor,
    maxProcesses: supervisor.maxProcesses ?? Math.max(supervisor.minProcesses * supervisor.queues.length, 1),
  }))
  .superRefine((supervisor, ctx) => {
    const floor = processFloorProblem(
      supervisor.minProcesses,
      supervisor.queues.length,
      supervisor.maxProcesses,
    );
    if (floor) ctx.addIssue({ code: 'custom', path: ['maxProcesses'], message: floor });
    for (const { index, queue } of repeatedQueues(supervisor.queues)) {
      ctx.addIssue({ code: 'custom', path: ['queues', index], message: `lists "${queue}" twice` });
    }
  });

export const hostOptionsSchema = z.strictObject({
  /** Seconds between two heartbeats (one write for the host and all its workers). */
  heartbeatInterval: seconds(0.1, 60).default(5),
  /**
   * Seconds between two health checks of each connection the host uses (a Redis PING and INFO, or
   * a `select 1` on BullMQ's Postgres backend), written as per-minute rows with the heartbeat.
   */
  healthInterval: seconds(0.25, 3600).default(30),
  /**
   * Seconds between two bus reads. Push (LISTEN/NOTIFY, Redis pub/sub) wakes the host at once, so
   * polling only backs push up; 3 s is the seed's interval: 1,200 reads per host-hour.
   */
  pollInterval: seconds(0.05, 60).default(3),
  /** Seconds current jobs get on terminate before their processes are killed. */
  gracePeriod: seconds(0, 3600).default(30),
  /** Seconds without a heartbeat after which a host (and its workers) counts as dead. */
  deadAfter: seconds(1, 3600).default(15),
  /**
   * Worker processes this host keeps at most, over all its supervisors; commands and auto balancing
   * are refused more. Unset: WATCHTOWER_MAX_WORKER_PROCESSES, else one per 256 MB of memory, at most
   * 100 (supervisor/process-ceiling.ts).
   */
  maxWorkerProcesses: count(1, 10_000).optional(),
  /**
   * Seconds a claimed command stays this host's if the host stops answering (it crashed, lost the
   * bus): renewed while the command runs, then another host may take it. A host claims a target's
   * next command only once the one before it is answered, so no command waits under a lease.
   */
  commandLease: seconds(1, 600).default(30),
});

export { MAX_PAYLOAD_CAP, MIN_PAYLOAD_CAP };

export const recorderOptionsSchema = z.strictObject({
  /**
   * Bytes of a job's data, return value and error message the recorder keeps; past it the value is
   * stored cut down and flagged. Unset: WATCHTOWER_MAX_PAYLOAD_BYTES, else 16 KB.
   */
  maxPayloadBytes: z
    .number({ message: 'must be a whole number of bytes' })
    .int('must be a whole number of bytes')
    .min(MIN_PAYLOAD_CAP, `must be at least ${MIN_PAYLOAD_CAP} bytes`)
    .max(
      MAX_PAYLOAD_CAP,
      `must be at most ${MAX_PAYLOAD_CAP} bytes (8 MB): bigger payloads would sit whole in the host's memory and be rewritten in Postgres at every step of a job; keep a reference to the data in the job instead`,
    )
    .optional(),
});

export const configSchema = z
  .strictObject({
    connections: z.record(identifier, connectionSchema, { message: 'must map names to { url }' }).default({}),
    supervisors: z.array(supervisorSchema, { message: 'must be a list of supervisors' }).default([]),
    /** Queue name (or `*` for every other queue) to the path of a module whose default export runs a job. */
    processors: z.record(z.string(), z.string().min(1, 'must be a module path')).default({}),
    host: hostOptionsSchema.prefault({}),
    recorder: recorderOptionsSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.supervisors.forEach((supervisor, index) => {
      if (names.has(supervisor.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['supervisors', index, 'name'],
          message: `"${supervisor.name}" is used by two supervisors`,
        });
      }
      names.add(supervisor.name);
      if (!Object.hasOwn(config.connections, supervisor.connection)) {
        const known = Object.keys(config.connections);
        ctx.addIssue({
          code: 'custom',
          path: ['supervisors', index, 'connection'],
          message: `"${supervisor.connection}" is not in connections (${known.length ? known.join(', ') : 'none defined'})`,
        });
      }
      supervisor.queues.forEach((queue, queueIndex) => {
        if (!Object.hasOwn(config.processors, queue) && !Object.hasOwn(config.processors, '*')) {
          ctx.addIssue({
            code: 'custom',
            path: ['supervisors', index, 'queues', queueIndex],
            message: `queue "${queue}" has no processor: add processors["${queue}"] (or processors["*"])`,
          });
        }
      });
    });
  });

export type ConnectionConfig = z.output<typeof connectionSchema>;
export type SupervisorConfig = z.output<typeof supervisorSchema>;
export type HostOptions = z.output<typeof hostOptionsSchema>;
export type RecorderOptionsConfig = z.output<typeof recorderOptionsSchema>;
export type { BalanceStrategy };

/** A validated configuration, with processor paths made absolute. */
export interface WatchtowerConfig {
  connections: Record<string, ConnectionConfig>;
  supervisors: SupervisorConfig[];
  processors: Record<string, string>;
  host: HostOptions;
  recorder: RecorderOptionsConfig;
  /**
   * Supervisors kept in the database carry their own processors (supervisor → queue or `*` →
   * absolute path inside the processors directory), ahead of `processors` (config/merge-config.ts).
   */
  supervisorProcessors?: Record<string, Record<string, string>>;
  /** Where it came from: a file path, or `environment`. */
  source: string;
}

/** What users may write (defaults not yet applied). */
export type WatchtowerConfigInput = z.input<typeof configSchema>;

export { defineConfig } from './define-config';
