import { neon, neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle as drizzleHttp, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as schema from '../../drizzle/schema/index';
import { setLocalStatementTimeout, withStatementTimeout } from './statement-timeout';

/** Drizzle over Neon's WebSocket Pool: interactive transactions (`db.transaction(async (tx) => ...)`) work. */
export type NeonDb = NeonDatabase<typeof schema>;

/**
 * Drizzle over Neon's HTTP endpoint: one fetch per query, over connections Neon's proxy keeps, so
 * nothing to open or close. No interactive transactions: `db.batch([...])` runs statements in one.
 */
export type NeonHttpDb = NeonHttpDatabase<typeof schema>;

export interface NeonHttpDatabaseOptions {
  /** A Postgres connection string. */
  url: string;
  /**
   * Local development and tests only: "host:port" of the stand-in for Neon's `POST /sql`
   * (scripts/local-only/neon-http.ts) in front of a plain Postgres. Production leaves it unset.
   */
  localHttp?: string | undefined;
  /**
   * Each statement runs under this `statement_timeout` (core/db/statement-timeout.ts says how);
   * unset, under the database's own setting.
   */
  statementTimeoutMs?: number | undefined;
}

/** Opens drizzle over `neon()`: runtime-neutral, it only needs `fetch`. */
export function createNeonHttpDatabase(options: NeonHttpDatabaseOptions): NeonHttpDb {
  if (options.localHttp !== undefined && options.localHttp !== '') useLocalHttp(options.localHttp);
  const client = neon(options.url);
  return drizzleHttp({
    client:
      options.statementTimeoutMs === undefined
        ? client
        : withStatementTimeout(client, options.statementTimeoutMs),
    schema,
  });
}

export interface NeonDatabaseOptions {
  /** A Postgres connection string. */
  url: string;
  /**
   * Local development and tests only: "host:port" of the WebSocket-to-TCP relay that stands in for
   * Neon's proxy in front of a plain Postgres. Production leaves it unset and talks to Neon directly.
   */
  localRelay?: string | undefined;
  /** Gives up connecting after this long, so a health check fails instead of hanging. */
  connectionTimeoutMillis?: number;
  /**
   * Each interactive transaction starts with `SET LOCAL statement_timeout` to this (one more round
   * trip per transaction; core/db/statement-timeout.ts says why not a connection setting); unset,
   * the database's own setting applies.
   */
  statementTimeoutMs?: number | undefined;
}

export interface NeonDatabaseHandle {
  db: NeonDb;
  /** Ends the pool. In a Cloudflare Worker pass it to `ctx.waitUntil`: a pool must not outlive its request. */
  close(): Promise<void>;
}

const HOST_PORT_PATTERN = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/**
 * Opens drizzle over a Neon Pool. Runtime-neutral: the Cloudflare Worker and the workerd tests use
 * it (workerd has a global WebSocket); Node callers must also set `neonConfig.webSocketConstructor`.
 */
export function createNeonDatabase(options: NeonDatabaseOptions): NeonDatabaseHandle {
  if (options.localRelay !== undefined && options.localRelay !== '') useLocalRelay(options.localRelay);
  const pool = new Pool({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 10_000,
  });
  let closing: Promise<void> | undefined;
  // An idle client's socket error would otherwise be an unhandled 'error' event. Once the pool is
  // ending, its sockets' teardown can still surface as an error ("Network connection lost" in
  // workerd, after end() resolved): that is not a failure worth logging.
  pool.on('error', (error: Error) => {
    if (closing === undefined) console.error('watchtower: database pool error:', error.message);
  });
  const db = drizzle({ client: pool, schema });
  const timeoutMs = options.statementTimeoutMs;
  if (timeoutMs !== undefined) {
    const open = db.transaction.bind(db);
    const bounded: NeonDb['transaction'] = (run, config) =>
      open(async (tx) => {
        await tx.execute(setLocalStatementTimeout(timeoutMs));
        return run(tx);
      }, config);
    db.transaction = bounded;
  }
  return {
    db,
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}

/**
 * The relay speaks plain ws:// and plain Postgres, so TLS and the pipelined startup (which assumes
 * Neon's proxy) are off. `neonConfig` is global to the isolate, which is fine: the relay setting
 * comes from one variable and is the same for every pool an isolate opens.
 */
function useLocalRelay(relay: string): void {
  if (!HOST_PORT_PATTERN.test(relay)) {
    throw new Error(`WATCHTOWER_LOCAL_NEON_RELAY must be "host:port", got ${JSON.stringify(relay)}`);
  }
  neonConfig.wsProxy = (host, port) => `${relay}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}

/** Plain http:// to the stand-in; like the relay setting, global to the isolate and the same for all. */
function useLocalHttp(endpoint: string): void {
  if (!HOST_PORT_PATTERN.test(endpoint)) {
    throw new Error(`WATCHTOWER_LOCAL_NEON_HTTP must be "host:port", got ${JSON.stringify(endpoint)}`);
  }
  neonConfig.fetchEndpoint = `http://${endpoint}/sql`;
}
