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

/** Variables of the cron's housekeeping (see functions/housekeeping/), each with its default below. */
type HousekeepingVariable =
  | 'WATCHTOWER_RETENTION_COMPLETED_DAYS'
  | 'WATCHTOWER_RETENTION_FAILED_DAYS'
  | 'WATCHTOWER_RETENTION_METRICS_DAYS'
  | 'WATCHTOWER_RETENTION_COMMANDS_DAYS'
  | 'WATCHTOWER_RETENTION_HOSTS_DAYS'
  | 'WATCHTOWER_HOST_DEAD_AFTER_SECONDS'
  | 'WATCHTOWER_PRUNE_BATCH_SIZE'
  | 'WATCHTOWER_PRUNE_MAX_BATCHES';

export const HOUSEKEEPING_DEFAULTS = {
  completedDays: 7,
  failedDays: 30,
  metricsDays: 30,
  commandsDays: 7,
  hostsDays: 7,
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
  name: HousekeepingVariable,
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
  name: Extract<HousekeepingVariable, `WATCHTOWER_RETENTION_${string}`>,
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
