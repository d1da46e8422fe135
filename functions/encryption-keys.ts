import {
  CURRENT_KEY_VARIABLE,
  EncryptionKeyError,
  type KeyRing,
  loadKeyRing,
} from '../core/crypto/sealed-secrets';
import type { Env } from './env';
import { misconfigured } from './http-error';

/**
 * The Cloudflare Worker's keys for sealing connection secrets (core/crypto/sealed-secrets.ts):
 * WATCHTOWER_ENCRYPTION_KEY, and WATCHTOWER_ENCRYPTION_KEY_PREVIOUS during a rotation. Null when
 * no key is set; a malformed one is a deployment error naming the variable (500 `misconfigured`).
 */
export async function keyRing(env: Env): Promise<KeyRing | null> {
  try {
    return await loadKeyRing({
      current: env.WATCHTOWER_ENCRYPTION_KEY,
      previous: env.WATCHTOWER_ENCRYPTION_KEY_PREVIOUS,
    });
  } catch (error) {
    if (error instanceof EncryptionKeyError) throw misconfigured(error.message);
    throw error;
  }
}

/** For a write that stores a secret: without the key the secret is refused, never stored in clear. */
export async function requireKeyRing(env: Env): Promise<KeyRing> {
  const ring = await keyRing(env);
  if (!ring) {
    throw misconfigured(
      `${CURRENT_KEY_VARIABLE} is not set, so connection secrets cannot be stored: set it to the base64 of 32 random bytes (\`openssl rand -base64 32\`) in .dev.vars locally or with \`wrangler secret put ${CURRENT_KEY_VARIABLE}\``,
    );
  }
  return ring;
}
