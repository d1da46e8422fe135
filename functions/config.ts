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
