import {
  createPostgresBackend,
  type Processor,
  Queue,
  type QueueOptions,
  Worker,
  type WorkerOptions,
  withBackend,
} from 'bullmq';

/**
 * BullMQ on Redis or on BullMQ's own Postgres backend, chosen by the connection's URL. Callers get
 * the same `Worker` and `Queue` API either way (the Postgres classes share it; only the connection
 * option differs), so nothing else in the worker-host knows which backend a queue lives on.
 */

export type BackendKind = 'redis' | 'postgres';

export function backendKind(url: string): BackendKind {
  return /^postgres(ql)?:\/\//.test(url) ? 'postgres' : 'redis';
}

type WorkerSettings = Omit<WorkerOptions, 'connection'>;
type QueueSettings = Omit<QueueOptions, 'connection'>;

let postgresClasses: ReturnType<typeof postgresBackendClasses> | undefined;

function postgresBackendClasses() {
  return withBackend(createPostgresBackend);
}

function postgres() {
  postgresClasses ??= postgresBackendClasses();
  return postgresClasses;
}

// BullMQ keeps its own tables in the queue database; it creates them (under an advisory lock) the
// first time a worker or queue connects, so a fresh Postgres works without a separate step.
function postgresConnection(url: string) {
  return { connectionString: url, migrate: true };
}

export function createWorker(
  url: string,
  queue: string,
  processor: Processor,
  settings: WorkerSettings = {},
): Worker {
  if (backendKind(url) === 'postgres') {
    // Same high-level class over another backend; typed as the default so callers stay generic.
    return new (postgres().Worker)(queue, processor, {
      ...settings,
      connection: postgresConnection(url),
    }) as unknown as Worker;
  }
  // BullMQ builds the blocking connection itself (maxRetriesPerRequest: null) from the URL.
  return new Worker(queue, processor, { ...settings, connection: { url } });
}

export function createQueue(url: string, queue: string, settings: QueueSettings = {}): Queue {
  if (backendKind(url) === 'postgres') {
    return new (postgres().Queue)(queue, {
      ...settings,
      connection: postgresConnection(url),
    }) as unknown as Queue;
  }
  return new Queue(queue, { ...settings, connection: { url } });
}
