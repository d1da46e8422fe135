/**
 * `@watchtower/worker-host`: what an application imports. The CLI (`watchtower`) is the usual way
 * to run a host; these are for configuration files (`defineConfig`), processor modules (the
 * `Processor` type) and applications that run a host inside their own process (`startHost`).
 */
import type { Job as BullJob, Processor as BullProcessor } from 'bullmq';

export { ConfigError } from './config/config-error';
export type {
  ConnectionConfig,
  HostOptions,
  RecorderOptionsConfig,
  SupervisorConfig,
  WatchtowerConfig,
  WatchtowerConfigInput,
} from './config/config-schema';
export { defineConfig } from './config/config-schema';
export type { RunningHost, StartHostOptions } from './host/start-host';
export { startHost } from './host/start-host';

/**
 * What a processor module default-exports: `async (job, token, signal) => result`. The result is
 * recorded as the job's return value; a throw fails the attempt; `signal` aborts when the job times
 * out or is cancelled (declare it only if you use it: BullMQ makes one only for processors that do).
 */
export type Processor<Data = unknown, Result = unknown, Name extends string = string> = BullProcessor<
  Data,
  Result,
  Name
>;

/** The job a processor receives (BullMQ's). */
export type Job<Data = unknown, Result = unknown, Name extends string = string> = BullJob<Data, Result, Name>;
