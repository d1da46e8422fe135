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
  tries: number;
  timeout: number;
  memory: number;
  sleep: number;
  rest: number;
  /** Seconds a worker process gets to finish its jobs when it must go; then it is killed. */
  graceSeconds: number;
}

export function workerSpec(
  supervisor: SupervisorConfig,
  queue: string,
  context: { hostId: string; connectionUrl: string; processorPath: string; graceSeconds: number },
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
    graceSeconds: context.graceSeconds,
  };
}
