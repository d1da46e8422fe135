import type { Env } from './env';
import { misconfigured } from './http-error';

type SecretName = 'DATABASE_URL' | 'UPSTASH_REDIS_REST_URL' | 'UPSTASH_REDIS_REST_TOKEN';

/** A binding the chosen configuration needs; a missing one is the operator's problem, said plainly. */
export function requireBinding(env: Env, name: SecretName): string {
  const value = env[name]?.trim();
  if (!value) {
    throw misconfigured(
      `${name} is not set: add it to .dev.vars locally or run \`wrangler secret put ${name}\` in production`,
    );
  }
  return value;
}

/** Numeric variables: the cron's housekeeping (see functions/housekeeping/) and the auth settings. */
type NumericVariable =
  | 'WATCHTOWER_TOKEN_DEFAULT_DAYS'
  | 'WATCHTOWER_RETENTION_COMPLETED_DAYS'
  | 'WATCHTOWER_RETENTION_FAILED_DAYS'
  | 'WATCHTOWER_RETENTION_METRICS_DAYS'
  | 'WATCHTOWER_RETENTION_HEALTH_DAYS'
  | 'WATCHTOWER_RETENTION_COMMANDS_DAYS'
  | 'WATCHTOWER_RETENTION_HOSTS_DAYS'
  | 'WATCHTOWER_RETENTION_AUDIT_DAYS'
  | 'WATCHTOWER_RETENTION_ALERTS_DAYS'
  | 'WATCHTOWER_HOST_DEAD_AFTER_SECONDS'
  | 'WATCHTOWER_PRUNE_BATCH_SIZE'
  | 'WATCHTOWER_PRUNE_MAX_BATCHES'
  | 'WATCHTOWER_STATEMENT_TIMEOUT_MS';

export const HOUSEKEEPING_DEFAULTS = {
  completedDays: 7,
  failedDays: 30,
  metricsDays: 30,
  healthDays: 30,
  commandsDays: 7,
  hostsDays: 7,
  auditDays: 365,
  alertsDays: 90,
  hostDeadAfterSeconds: 15,
  batchSize: 1000,
  maxBatches: 10,
} as const;

/**
 * Reads one numeric variable: unset or blank gives the default; anything but a number in
 * [min, max] (an integer where asked) is a deployment error naming the variable and the value.
 */
export function numberVariable(
  env: Env,
  name: NumericVariable,
  fallback: number,
  rule: { min: number; max: number; integer?: boolean; unit: string },
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (
    !Number.isFinite(value) ||
    value < rule.min ||
    value > rule.max ||
    (rule.integer && !Number.isInteger(value))
  ) {
    throw misconfigured(
      `${name} must be ${rule.integer ? 'a whole number' : 'a number'} of ${rule.unit} from ${rule.min} to ${rule.max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

const DAYS = { min: 0, max: 36_500, unit: 'days (0 keeps rows forever)' };

export function retentionDays(
  env: Env,
  name: Extract<NumericVariable, `WATCHTOWER_RETENTION_${string}`>,
  fallback: number,
): number {
  return numberVariable(env, name, fallback, DAYS);
}

/** Batch size and batches per run: every step needs them, so a bad value fails the steps that prune. */
export function pruneBounds(env: Env): { batchSize: number; maxBatches: number } {
  return {
    batchSize: numberVariable(env, 'WATCHTOWER_PRUNE_BATCH_SIZE', HOUSEKEEPING_DEFAULTS.batchSize, {
      min: 1,
      max: 10_000,
      integer: true,
      unit: 'rows',
    }),
    maxBatches: numberVariable(env, 'WATCHTOWER_PRUNE_MAX_BATCHES', HOUSEKEEPING_DEFAULTS.maxBatches, {
      min: 1,
      max: 1000,
      integer: true,
      unit: 'batches',
    }),
  };
}

export function hostDeadAfterSeconds(env: Env): number {
  return numberVariable(
    env,
    'WATCHTOWER_HOST_DEAD_AFTER_SECONDS',
    HOUSEKEEPING_DEFAULTS.hostDeadAfterSeconds,
    { min: 1, max: 3600, unit: 'seconds' },
  );
}

/**
 * Days a new API token lives when its creator gives no expiry; null (unset or 0): such tokens do
 * not expire.
 */
export function tokenDefaultDays(env: Env): number | null {
  const days = numberVariable(env, 'WATCHTOWER_TOKEN_DEFAULT_DAYS', 0, {
    min: 0,
    max: 36_500,
    integer: true,
    unit: 'days (0: tokens without an expiry never expire)',
  });
  return days === 0 ? null : days;
}

/** The bootstrap admin token must be a real secret: at least this long. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/**
 * WATCHTOWER_ADMIN_TOKEN, trimmed, or null when unset. A shorter one than MIN_ADMIN_TOKEN_LENGTH is
 * a deployment error: every authenticated request refuses with `misconfigured` until it is fixed,
 * rather than accept a guessable admin secret.
 */
export function adminToken(env: Env): string | null {
  const token = env.WATCHTOWER_ADMIN_TOKEN?.trim();
  if (!token) return null;
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw misconfigured(
      `WATCHTOWER_ADMIN_TOKEN is ${token.length} characters; it must be at least ${MIN_ADMIN_TOKEN_LENGTH} (generate one with \`openssl rand -base64 32\`)`,
    );
  }
  return token;
}

/** How long one API statement may run before Postgres cancels it, unless configured. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;

/**
 * WATCHTOWER_STATEMENT_TIMEOUT_MS: every statement of an API request runs under this
 * `statement_timeout` (see functions/services.ts); past it the request answers 503 `unavailable`.
 * No 0 ("no limit"): the point is that no request can keep the database busy for long.
 */
export function statementTimeoutMs(env: Env): number {
  return numberVariable(env, 'WATCHTOWER_STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS, {
    min: 100,
    max: 300_000,
    integer: true,
    unit: 'milliseconds',
  });
}
