import type { WatchtowerConfig, WatchtowerConfigInput } from '../config/config-schema';
import { ConfigError, configPath, loadConfig, validate } from '../config/load-config';
import { checkSpoolDir, defaultSpoolDir } from '../recorder/spool-dir';
import { Host } from './host';

export interface StartHostOptions {
  /** Watchtower's Postgres. Default: DATABASE_URL. */
  databaseUrl?: string;
  /** Where relative processor paths of a configuration object start. Default: the current directory. */
  baseDir?: string;
  /** Run only this supervisor of the configuration (as `watchtower supervisor --supervisor=name`). */
  only?: string;
  /** The variables the host reads (bus, spool, ceilings) and passes on. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the host's lines go. Default: stdout, one timestamped line each. */
  log?: (line: string) => void;
}

/** A host started by `startHost`. */
export interface RunningHost {
  readonly hostId: string;
  /** Resolves with 0 once the host has stopped: by `stop()`, a command, or `watchtower terminate`. */
  readonly done: Promise<number>;
  /** Terminates gracefully (current jobs get `host.gracePeriod`) and resolves once all is closed. */
  stop(): Promise<number>;
  /** Restarts the worker processes gracefully (new code; the host stays up). */
  restart(): void;
  pause(): void;
  resume(): void;
}

/**
 * Starts a host inside the caller's process, as `watchtower supervisor` does in its own: the
 * configuration (an object as `defineConfig` takes, or the path of a configuration file) is
 * validated first and a bad one is refused with a ConfigError before anything starts. Unlike the
 * CLI it installs no signal or uncaught-error handlers: the embedding application owns its process
 * and calls `stop()` on its way out.
 */
export async function startHost(
  config: WatchtowerConfigInput | string,
  options: StartHostOptions = {},
): Promise<RunningHost> {
  const env = options.env ?? process.env;
  const databaseUrl = options.databaseUrl ?? env.DATABASE_URL?.trim();
  if (!databaseUrl) {
    throw new ConfigError(
      "startHost: no database: give options.databaseUrl or set DATABASE_URL (Watchtower's Postgres, e.g. postgres://user@host:5432/watchtower)",
    );
  }
  const path = typeof config === 'string' ? configPath({ path: config, env }) : undefined;
  const load = (): Promise<WatchtowerConfig> =>
    path !== undefined
      ? loadConfig({ path, env })
      : Promise.resolve(validate(config, 'startHost()', options.baseDir ?? process.cwd(), env));
  const loaded = await load();
  if (options.only !== undefined && !loaded.supervisors.some((s) => s.name === options.only)) {
    throw new ConfigError(`startHost: the configuration has no supervisor named "${options.only}"`);
  }
  if (loaded.supervisors.length === 0) {
    throw new ConfigError(
      `startHost: the configuration (${loaded.source}) has no supervisors: nothing to run`,
    );
  }
  const spoolDir = defaultSpoolDir(env);
  const problem = await checkSpoolDir(spoolDir);
  if (problem) throw new ConfigError(problem);
  const host = new Host({
    config: loaded,
    configPath: path,
    // A configuration object is validated again on `host.reload` (processors compiled afresh).
    reloadConfig: path === undefined ? load : undefined,
    databaseUrl,
    env,
    only: options.only,
    spoolDir,
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    await host.start();
  } catch (error) {
    await host.discard();
    throw error;
  }
  return {
    hostId: host.hostId,
    done: host.done,
    stop() {
      host.signal('terminate');
      return host.done;
    },
    restart: () => host.signal('restart'),
    pause: () => host.signal('pause'),
    resume: () => host.signal('continue'),
  };
}
