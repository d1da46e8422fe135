import type { SupervisorConfig } from '../config/config-schema';

/** What a supervisor needs to start worker processes for one of its queues. */
export interface WorkerSpec {
  hostId: string;
  supervisor: string;
  connection: string;
  connectionUrl: string;
  queue: string;
  processorPath: string;
  concurrency: number;
  /** Runs of a job that does not set `attempts` itself. */
  tries: number;
  /** Seconds; 0 for no limit. */
  timeout: number;
  /** Megabytes of RSS; 0 for no limit. */
  memory: number;
  /** Seconds to wait for a job on an empty queue (BullMQ's drainDelay). */
  sleep: number;
  /** Seconds to rest after each job. */
  rest: number;
  /** Seconds a running job's lock lasts before the job counts as stalled (BullMQ's lockDuration). */
  lockDuration: number;
  /** Seconds between two checks for stalled jobs (BullMQ's stalledInterval). */
  stalledInterval: number;
  /**
   * Seconds a worker process gets to finish its jobs when it must go: then the supervisor kills
   * it, or, with no supervisor left, the process forces itself.
   */
  graceSeconds: number;
  /** Bytes of a job's data, result and message recorded (recorder.maxPayloadBytes, payload-cap.ts). */
  payloadCap: number;
  /** Variables withheld from worker processes by default that this supervisor passes (worker-env.ts). */
  passEnv: readonly string[];
}

export function workerSpec(
  supervisor: SupervisorConfig,
  queue: string,
  context: {
    hostId: string;
    connectionUrl: string;
    processorPath: string;
    graceSeconds: number;
    payloadCap: number;
  },
): WorkerSpec {
  return {
    hostId: context.hostId,
    supervisor: supervisor.name,
    connection: supervisor.connection,
    connectionUrl: context.connectionUrl,
    queue,
    processorPath: context.processorPath,
    concurrency: supervisor.concurrency,
    tries: supervisor.tries,
    timeout: supervisor.timeout,
    memory: supervisor.memory,
    sleep: supervisor.sleep,
    rest: supervisor.rest,
    lockDuration: supervisor.lockDuration,
    stalledInterval: supervisor.stalledInterval,
    graceSeconds: context.graceSeconds,
    payloadCap: context.payloadCap,
    passEnv: supervisor.passEnv,
  };
}
