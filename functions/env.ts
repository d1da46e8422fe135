import type { Services } from './services';

/**
 * The Cloudflare Worker's bindings. Secrets are optional in the type because a deployment may lack
 * them: `functions/config.ts` checks them and answers `misconfigured` naming the missing one.
 */
export interface Env {
  /** Secret. Postgres (Neon) connection string. */
  DATABASE_URL?: string;
  /** `database` (default) or `redis`: the command-bus driver (see functions/bus.ts). */
  WATCHTOWER_COMMAND_BUS?: string;
  /** Secret, for the `redis` bus: the Upstash REST endpoint. */
  UPSTASH_REDIS_REST_URL?: string;
  /** Secret, for the `redis` bus: the Upstash REST token. */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Local development and tests only: "host:port" of the WebSocket relay in front of a local Postgres. */
  WATCHTOWER_LOCAL_NEON_RELAY?: string;
  /** Secret: the bootstrap admin API token. */
  WATCHTOWER_ADMIN_TOKEN?: string;
  /** The dashboard's static assets (web/dist). */
  ASSETS: Fetcher;
}

/** Hono's environment for this app: bindings plus what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: { services: Services };
}
