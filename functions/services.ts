import type { CommandBus } from '../core/bus/command-bus';
import type { StatementDatabase } from '../core/db/database';
import {
  createNeonDatabase,
  createNeonHttpDatabase,
  type NeonDatabaseHandle,
  type NeonDb,
} from '../core/db/neon-database';
import { checkBusConfig, createCommandBus } from './bus';
import { requireBinding, statementTimeoutMs } from './config';
import type { Env } from './env';
import { misconfigured } from './http-error';

/**
 * What one request (or one scheduled run) uses: the databases and the command bus, opened on first
 * use. The one place the Worker chooses its database drivers:
 * - `db`, for everything that is one statement at a time (reads, single writes, the command bus):
 *   Neon's HTTP endpoint, one fetch per query over connections Neon keeps, so a request opens no
 *   Postgres connection of its own.
 * - `transactional`, only for interactive transactions (`transaction(async (tx) => ...)`): a Neon
 *   WebSocket pool. It must not outlive its request (its sockets belong to the request's I/O
 *   context), so it is opened only when asked for and `close()` goes to `ctx.waitUntil`.
 *
 * For API requests both run every statement under WATCHTOWER_STATEMENT_TIMEOUT_MS (a `SET LOCAL
 * statement_timeout` in the statement's transaction; core/db/statement-timeout.ts says why that
 * way): a crafted filter or a lock held elsewhere costs the database seconds at most, and the
 * client gets 503 `unavailable` (functions/middleware/errors.ts). The cron's housekeeping opts
 * out: its statements are bounded by batch sizes instead, and a cancelled prune would only come
 * back the next minute.
 */
export interface ServicesOptions {
  /** Run every statement under WATCHTOWER_STATEMENT_TIMEOUT_MS (default true). */
  statementTimeout?: boolean;
}

export class Services {
  #http: StatementDatabase | undefined;
  #pool: NeonDatabaseHandle | undefined;
  #bus: CommandBus | undefined;
  readonly #databaseUrl: string;
  readonly #statementTimeoutMs: number | undefined;

  /** Validates the configuration up front, so a misconfigured deployment fails fast and clearly. */
  constructor(
    private readonly env: Env,
    options: ServicesOptions = {},
  ) {
    this.#databaseUrl = requireBinding(env, 'DATABASE_URL');
    this.#statementTimeoutMs = options.statementTimeout === false ? undefined : statementTimeoutMs(env);
    checkBusConfig(env);
    // Locally both stand-ins are needed; without the HTTP one, queries would go to Neon's cloud.
    if (env.WATCHTOWER_LOCAL_NEON_RELAY?.trim() && !env.WATCHTOWER_LOCAL_NEON_HTTP?.trim()) {
      throw misconfigured(
        'WATCHTOWER_LOCAL_NEON_RELAY is set without WATCHTOWER_LOCAL_NEON_HTTP: a local stack needs both stand-ins',
      );
    }
  }

  /** Neon's HTTP path: no interactive transactions (`transaction` throws; use `transactional`). */
  get db(): StatementDatabase {
    this.#http ??= createNeonHttpDatabase({
      url: this.#databaseUrl,
      localHttp: this.env.WATCHTOWER_LOCAL_NEON_HTTP,
      statementTimeoutMs: this.#statementTimeoutMs,
    });
    return this.#http;
  }

  /** A WebSocket pool for interactive transactions: opens a Postgres connection, so use it only for those. */
  get transactional(): NeonDb {
    this.#pool ??= createNeonDatabase({
      url: this.#databaseUrl,
      localRelay: this.env.WATCHTOWER_LOCAL_NEON_RELAY,
      // Short: an API request that waits 10 s for a database is worse than a quick 503.
      connectionTimeoutMillis: 5_000,
      statementTimeoutMs: this.#statementTimeoutMs,
    });
    return this.#pool.db;
  }

  get bus(): CommandBus {
    // Every operation of the database bus is one statement: the HTTP path carries it.
    this.#bus ??= createCommandBus(this.env, () => this.db);
    return this.#bus;
  }

  /** Closes what was opened, the bus before the pool it may be using. Never throws. */
  async close(): Promise<void> {
    const bus = this.#bus;
    const pool = this.#pool;
    this.#bus = undefined;
    this.#pool = undefined;
    this.#http = undefined;
    await bus?.close().catch((error: unknown) => logCloseError('command bus', error));
    await pool?.close().catch((error: unknown) => logCloseError('database pool', error));
  }
}

function logCloseError(what: string, error: unknown): void {
  console.error(`watchtower: closing the ${what} failed:`, error instanceof Error ? error.message : error);
}
