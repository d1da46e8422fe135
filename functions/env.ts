import type { Actor } from './auth/actor';
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
  /** Local development and tests only: "host:port" of the stand-in for Neon's HTTP `POST /sql` in front of a local Postgres. */
  WATCHTOWER_LOCAL_NEON_HTTP?: string;
  /** Secret: the bootstrap admin API token, accepted as `Authorization: Bearer <token>` with the admin role. At least 32 characters. */
  WATCHTOWER_ADMIN_TOKEN?: string;
  /** Days a new API token lives when its creator gives no expiry. Unset or 0: such tokens never expire. */
  WATCHTOWER_TOKEN_DEFAULT_DAYS?: string;
  /** Optional: with WATCHTOWER_ADMIN_PASSWORD, the first admin user, created on the first login while no user exists. */
  WATCHTOWER_ADMIN_EMAIL?: string;
  /** Secret, optional: the first admin user's password (see WATCHTOWER_ADMIN_EMAIL). */
  WATCHTOWER_ADMIN_PASSWORD?: string;
  /** Cloudflare Access team domain (e.g. `acme.cloudflareaccess.com`); with WATCHTOWER_ACCESS_AUD turns Access JWTs on. */
  WATCHTOWER_ACCESS_TEAM_DOMAIN?: string;
  /** The Access application's audience tag (AUD). */
  WATCHTOWER_ACCESS_AUD?: string;
  /** Role of an Access identity whose email matches no user: viewer (default), operator or admin. */
  WATCHTOWER_ACCESS_ROLE?: string;
  /** Role of an Access service token (no email): viewer (default), operator or admin. */
  WATCHTOWER_ACCESS_SERVICE_ROLE?: string;
  /** Tests only: where to fetch the Access signing keys instead of `https://<team>/cdn-cgi/access/certs`. */
  WATCHTOWER_ACCESS_CERTS_URL?: string;
  /** Days to keep completed (and deleted) jobs, by completion time; the cron prunes older ones. 0 keeps them forever. Default 7. */
  WATCHTOWER_RETENTION_COMPLETED_DAYS?: string;
  /** Days to keep failed jobs and their attempts. 0 keeps them forever. Default 30. */
  WATCHTOWER_RETENTION_FAILED_DAYS?: string;
  /** Days to keep the per-minute metrics rollups. 0 keeps them forever. Default 30. */
  WATCHTOWER_RETENTION_METRICS_DAYS?: string;
  /** Days to keep the connections' per-minute health rows (watchtower_connection_health); their hourly rollups are kept the longer of this and 90 days. 0 keeps both forever. Default 30. */
  WATCHTOWER_RETENTION_HEALTH_DAYS?: string;
  /** Days to keep finished commands (done, failed, expired). 0 keeps them forever. Default 7 (as the command routes promise). */
  WATCHTOWER_RETENTION_COMMANDS_DAYS?: string;
  /** Days to keep dead or stopped hosts and worker processes after their last heartbeat. 0 keeps them forever. Default 7. */
  WATCHTOWER_RETENTION_HOSTS_DAYS?: string;
  /** Days to keep audit log rows. 0 keeps them forever. Default 365. */
  WATCHTOWER_RETENTION_AUDIT_DAYS?: string;
  /** Days to keep alert events, finished alert deliveries and ended silences. 0 keeps them forever. Default 90. */
  WATCHTOWER_RETENTION_ALERTS_DAYS?: string;
  /** Seconds without a heartbeat after which the cron marks a host and its workers dead. Default 15. */
  WATCHTOWER_HOST_DEAD_AFTER_SECONDS?: string;
  /** Rows one prune statement deletes at most. Default 1000. */
  WATCHTOWER_PRUNE_BATCH_SIZE?: string;
  /** Prune statements per table per cron run at most; the next run carries on. Default 10. */
  WATCHTOWER_PRUNE_MAX_BATCHES?: string;
  /** Milliseconds one statement of an API request may run before Postgres cancels it (503 `unavailable`). 100 to 300000, default 5000. */
  WATCHTOWER_STATEMENT_TIMEOUT_MS?: string;
  /** Secret: base64 of 32 random bytes; seals connection secrets (AES-256-GCM). Needed to store a password or URL. */
  WATCHTOWER_ENCRYPTION_KEY?: string;
  /** Secret, during a key rotation only: the key before WATCHTOWER_ENCRYPTION_KEY, so older secrets still open and get re-sealed. */
  WATCHTOWER_ENCRYPTION_KEY_PREVIOUS?: string;
  /** Secret, optional: a Resend API key; alert channels of kind `email` send through Resend's API with it. */
  WATCHTOWER_RESEND_API_KEY?: string;
  /** The sender of alert emails, e.g. `Watchtower <alerts@example.com>` (a domain verified with Resend). */
  WATCHTOWER_ALERT_EMAIL_FROM?: string;
  /** Tests only: a local stand-in for Resend's API (http://127.0.0.1:PORT); any other address is refused. */
  WATCHTOWER_RESEND_API_URL?: string;
  /** The dashboard's static assets (web/dist). */
  ASSETS: Fetcher;
}

/** Hono's environment for this app: bindings plus what middleware puts on the context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    services: Services;
    /**
     * Set by `authenticate()` on every /api route except the public ones (/api/health, the login):
     * routes behind it can rely on it.
     */
    actor: Actor;
    /** The browser session's id when the actor came from the session cookie (for logging out). */
    sessionId: string | undefined;
  };
}
