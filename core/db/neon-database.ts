import { neonConfig, Pool } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as schema from '../../drizzle/schema/index';

/** Drizzle over Neon's WebSocket Pool: interactive transactions work, as the command bus needs. */
export type NeonDb = NeonDatabase<typeof schema>;

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
}

export interface NeonDatabaseHandle {
  db: NeonDb;
  /** Ends the pool. In a Cloudflare Worker pass it to `ctx.waitUntil`: a pool must not outlive its request. */
  close(): Promise<void>;
}

const RELAY_PATTERN = /^[A-Za-z0-9.-]+:\d{1,5}$/;

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
  if (!RELAY_PATTERN.test(relay)) {
    throw new Error(`WATCHTOWER_LOCAL_NEON_RELAY must be "host:port", got ${JSON.stringify(relay)}`);
  }
  neonConfig.wsProxy = (host, port) => `${relay}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}
