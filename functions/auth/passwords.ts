import { base64UrlDecode, base64UrlEncode, constantTimeEqual, randomBytes, utf8 } from './crypto';

/**
 * Password hashing with PBKDF2-HMAC-SHA256 through WebCrypto, the slow KDF Workers provide.
 * Cloudflare Workers refuse more than 100,000 iterations, so that is both the floor OWASP would
 * like to see exceeded and the ceiling the platform allows; the count is stored with each hash so
 * it can be raised on another runtime without invalidating existing hashes.
 */
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const SCHEME = 'pbkdf2-sha256';

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', utf8(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    HASH_BITS,
  );
  return new Uint8Array(bits);
}

/** `pbkdf2-sha256$<iterations>$<salt>$<hash>` with a fresh random salt per call. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return `${SCHEME}$${PBKDF2_ITERATIONS}$${base64UrlEncode(salt)}$${base64UrlEncode(hash)}`;
}

/** False for a wrong password and for a stored value this code cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterationsText, saltText, hashText] = stored.split('$');
  const iterations = Number(iterationsText);
  const salt = base64UrlDecode(saltText ?? '');
  const expected = base64UrlDecode(hashText ?? '');
  if (
    scheme !== SCHEME ||
    !Number.isInteger(iterations) ||
    iterations < 1 ||
    iterations > PBKDF2_ITERATIONS
  ) {
    return false;
  }
  if (!salt || !expected) return false;
  return constantTimeEqual(await derive(password, salt, iterations), expected);
}

// A fixed hash to verify against when the email is unknown, so an unknown email costs as much time
// as a wrong password and response times do not tell which emails have accounts.
let decoy: Promise<string> | undefined;

export async function spendPasswordTime(password: string): Promise<void> {
  decoy ??= hashPassword('watchtower-decoy-password');
  await verifyPassword(password, await decoy);
}
