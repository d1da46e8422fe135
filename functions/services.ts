import type { CommandBus } from '../core/bus/command-bus';
import type { Database } from '../core/db/database';
import { createNeonDatabase, type NeonDatabaseHandle } from '../core/db/neon-database';
import { checkBusConfig, createCommandBus } from './bus';
import { requireBinding } from './config';
import type { Env } from './env';

/**
 * What one request (or one scheduled run) uses: the database and the command bus, opened on first
 * use. In a Worker a Neon pool must not outlive its request (its sockets belong to the request's
 * I/O context), so every request gets its own and `close()` goes to `ctx.waitUntil`.
 */
export class Services {
  #database: NeonDatabaseHandle | undefined;
  #bus: CommandBus | undefined;
  readonly #databaseUrl: string;

  /** Validates the configuration up front, so a misconfigured deployment fails fast and clearly. */
  constructor(private readonly env: Env) {
    this.#databaseUrl = requireBinding(env, 'DATABASE_URL');
    checkBusConfig(env);
  }

  get db(): Database {
    this.#database ??= createNeonDatabase({
      url: this.#databaseUrl,
      localRelay: this.env.WATCHTOWER_LOCAL_NEON_RELAY,
      // Short: an API request that waits 10 s for a database is worse than a quick 503.
      connectionTimeoutMillis: 5_000,
    });
    return this.#database.db;
  }

  get bus(): CommandBus {
    this.#bus ??= createCommandBus(this.env, () => this.db);
    return this.#bus;
  }

  /** Closes what was opened, the bus before the pool it may be using. Never throws. */
  async close(): Promise<void> {
    const bus = this.#bus;
    const database = this.#database;
    this.#bus = undefined;
    this.#database = undefined;
    await bus?.close().catch((error: unknown) => logCloseError('command bus', error));
    await database?.close().catch((error: unknown) => logCloseError('database pool', error));
  }
}

function logCloseError(what: string, error: unknown): void {
  console.error(`watchtower: closing the ${what} failed:`, error instanceof Error ? error.message : error);
}
