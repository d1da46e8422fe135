import type { WatchtowerConfig } from '../config/config-schema';

export interface HostOptions {
  config: WatchtowerConfig;
  /** The file to read again on `host.reload` (undefined: the environment's configuration). */
  configPath: string | undefined;
  /** Reads the configuration again on `host.reload`, instead of `configPath` (startHost's object). */
  reloadConfig?: (() => Promise<WatchtowerConfig>) | undefined;
  databaseUrl: string;
  env?: NodeJS.ProcessEnv;
  /** Run only this supervisor of the configuration (`watchtower supervisor --supervisor=name`). */
  only?: string;
  /** The recorder's spool directory, checked by the caller (spool-dir.ts); default from `env`. */
  spoolDir?: string;
  /** Where the host writes its health file for `status --local` (health-file.ts); default from `env`. */
  healthDir?: string;
  log?: (line: string) => void;
  /** This host's labels (`--labels`): it runs the database supervisors whose selector they satisfy. */
  labels?: string[];
  /**
   * The directory database supervisors' processors must be in (`--processors-dir`), resolved by
   * realpath. Without it the host runs no database supervisor.
   */
  processorsDir?: string;
}
