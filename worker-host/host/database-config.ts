import { readConfigVersion } from '../../core/config/config-version';
import { CONFIG_CHANNEL } from '../../core/config/supervisor-fields';
import type { Database } from '../../core/db/database';
import { PgNotificationListener } from '../bus/pg-notification-listener';
import { ConfigError } from '../config/config-error';
import type { WatchtowerConfig } from '../config/config-schema';
import { type DatabaseSupervisors, loadDatabaseSupervisors } from '../config/database-supervisors';

/** How often a host checks the configuration version when no NOTIFY woke it. */
export const CONFIG_CHECK_MS = 5000;

export interface DatabaseConfigOptions {
  db: Database;
  databaseUrl: string;
  labels: string[];
  /** `--processors-dir`, resolved by realpath; undefined: the host runs no database supervisor. */
  processorsDir: string | undefined;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  note: (what: string, error: unknown) => void;
  /** Applies the file's configuration merged with these (the host's reload path). */
  apply: (database: DatabaseSupervisors) => Promise<unknown>;
}

/**
 * Where a host's supervisors kept in the database come from: loaded at start, again whenever the
 * configuration version moves (read every 5 s, or at once on `NOTIFY watchtower_config`), and
 * handed to the host's reload path. `current` is what the host runs, set by the host once applied.
 */
export class DatabaseConfig {
  current: DatabaseSupervisors | undefined;
  /** Why the last load or apply failed; cleared once one succeeds. */
  private failure: string | null = null;
  private lastCheck = 0;
  private checking = false;
  private stopListener: (() => Promise<void>) | undefined;

  constructor(private readonly options: DatabaseConfigOptions) {}

  get enabled(): boolean {
    return this.options.processorsDir !== undefined;
  }

  /**
   * At start, before anything runs: the supervisors to merge with the file (undefined: none). A
   * name in both the file and the database is an error named here (later, the file's is kept and
   * the clash logged). Postgres away at start: the file runs, and a later check loads these.
   */
  async start(file: WatchtowerConfig): Promise<DatabaseSupervisors | undefined> {
    const { processorsDir, labels } = this.options;
    if (processorsDir === undefined) {
      if (labels.length > 0) {
        this.options.log(
          `Labels ${labels.join(', ')} given without --processors-dir (WATCHTOWER_PROCESSORS_DIR): this host runs no supervisor kept in the database.`,
        );
      }
      return undefined;
    }
    let database: DatabaseSupervisors;
    try {
      database = await this.load(processorsDir);
    } catch (error) {
      this.failure = messageOf(error);
      this.options.note('database configuration (the file runs meanwhile)', error);
      await this.listen();
      return undefined;
    }
    const fileNames = new Set(file.supervisors.map((s) => s.name));
    const both = database.supervisors.filter((s) => fileNames.has(s.name)).map((s) => s.name);
    if (both.length > 0) {
      throw new ConfigError(
        `Supervisor ${both.join(', ')} is both in the configuration file (${file.source}) and kept in the database for this host's labels: rename one`,
      );
    }
    this.current = database;
    await this.listen();
    return database;
  }

  /**
   * What the heartbeat reports (hosts API: labels, configVersion, configError, configDrift): the
   * version applied, and an error when the last load or apply failed or a supervisor was refused.
   */
  report(): { labels: string[]; takesDatabase: boolean; version: number | null; error: string | null } {
    const refused = (this.current?.refused ?? []).map(
      (entry) => `supervisor ${entry.name} not started: ${entry.reason}`,
    );
    const errors = [...(this.failure === null ? [] : [this.failure]), ...refused];
    return {
      labels: this.options.labels,
      takesDatabase: this.enabled,
      version: this.enabled ? (this.current?.version ?? null) : null,
      error: errors.length > 0 ? errors.join('; ') : null,
    };
  }

  /** Called from the host's loop: checks when due (a NOTIFY makes it due at once). */
  tick(now: number, terminating: boolean): void {
    if (!this.enabled || terminating || now - this.lastCheck < CONFIG_CHECK_MS) return;
    void this.check(now);
  }

  async stop(): Promise<void> {
    await this.stopListener?.().catch(() => undefined);
  }

  private async check(now: number): Promise<void> {
    const processorsDir = this.options.processorsDir;
    if (processorsDir === undefined || this.checking) return;
    this.checking = true;
    this.lastCheck = now;
    try {
      const version = await readConfigVersion(this.options.db);
      if (version === this.current?.version) return;
      await this.options.apply(await this.load(processorsDir));
      this.failure = null;
    } catch (error) {
      this.failure = messageOf(error);
      this.options.note('database configuration', error);
    } finally {
      this.checking = false;
    }
  }

  private async load(processorsDir: string): Promise<DatabaseSupervisors> {
    const database = await loadDatabaseSupervisors(this.options.db, {
      labels: this.options.labels,
      processorsDir,
      env: this.options.env,
    });
    for (const refused of database.refused) {
      this.options.note(`supervisor ${refused.name} (database) not started`, new Error(refused.reason));
    }
    return database;
  }

  /** NOTIFY on `watchtower_config` makes the next turn of the loop check (within 200 ms). */
  private async listen(): Promise<void> {
    try {
      this.stopListener = await new PgNotificationListener(this.options.databaseUrl).listen(
        CONFIG_CHANNEL,
        () => {
          this.lastCheck = 0;
        },
      );
    } catch (error) {
      this.options.note('configuration push (the check every 5 s goes on)', error);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
