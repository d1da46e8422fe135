/**
 * `@watchtower/worker-host`: what an application imports. The CLI (`watchtower`) is the usual way
 * to run a host; these are for configuration files (`defineConfig`), processor modules (the
 * `Processor` type) and applications that run a host inside their own process (`startHost`).
 */
import type { Job as BullJob, Processor as BullProcessor } from 'bullmq';
import type { WatchtowerConfigInput } from './config/config-schema';
import type { RunningHost, StartHostOptions } from './host/start-host';

export { ConfigError } from './config/config-error';
export type {
  ConnectionConfig,
  HostOptions,
  RecorderOptionsConfig,
  SupervisorConfig,
  WatchtowerConfig,
  WatchtowerConfigInput,
} from './config/config-schema';
export { defineConfig } from './config/define-config';
export type { RunningHost, StartHostOptions };

/**
 * Starts a host inside this process (host/start-host.ts). Loaded when called: a configuration file
 * importing `defineConfig` from the package does not load the host's code, its database and queue
 * clients with it.
 */
export async function startHost(
  config: WatchtowerConfigInput | string,
  options?: StartHostOptions,
): Promise<RunningHost> {
  const { startHost: start } = await import('./host/start-host');
  return start(config, options);
}

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
