/**
 * Secrets sealed at rest (connection passwords, Postgres URLs) with AES-256-GCM through WebCrypto
 * only, so the same code runs in the Cloudflare Worker (workerd) and in the worker-host (Node).
 *
 * A sealed value is text: `v1.<keyId>.<iv>.<ciphertext>`, the iv (96 random bits, new for every
 * seal) and the ciphertext (with GCM's 128-bit tag) in base64url. `keyId` is the first 8 hex
 * characters of SHA-256 of the key's bytes: it names the key that sealed the value without
 * revealing it, so a rotation can find the rows still sealed with the previous key, and opening
 * picks the right key at once.
 *
 * Every seal binds a context string (which row and which field, see `secretContext`) as GCM's
 * additional data: a ciphertext copied into another row or field does not open there.
 */

export const SEALED_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const KEY_ID_HEX = 8;

/** The key variables are missing or malformed: the operator must act; the message names the variable. */
export class EncryptionKeyError extends Error {
  override readonly name = 'EncryptionKeyError';
}

/** A sealed value that does not open: unknown key, wrong context, tampered or not a sealed value. */
export class SealedSecretError extends Error {
  override readonly name = 'SealedSecretError';
}

/**
 * WebCrypto's key type, named through `crypto.subtle` rather than the DOM's global `CryptoKey`, so
 * the worker-host package's declarations build with Node's types alone.
 */
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface EncryptionKey {
  readonly id: string;
  readonly key: AesKey;
}

/** The key that seals (current) and the one that may still open older values during a rotation. */
export interface KeyRing {
  readonly current: EncryptionKey;
  readonly previous: EncryptionKey | null;
}

export const CURRENT_KEY_VARIABLE = 'WATCHTOWER_ENCRYPTION_KEY';
export const PREVIOUS_KEY_VARIABLE = 'WATCHTOWER_ENCRYPTION_KEY_PREVIOUS';

const encoder = new TextEncoder();

/** Which row and field a secret belongs to: the additional data every seal binds. */
export function secretContext(table: string, id: string, field: string): string {
  return `watchtower:${table}:${id}:${field}`;
}

function base64UrlEncode(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function base64Decode(text: string, alphabet: 'standard' | 'url'): Uint8Array<ArrayBuffer> | null {
  const pattern = alphabet === 'url' ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!pattern.test(text)) return null;
  const plain = alphabet === 'url' ? text.replaceAll('-', '+').replaceAll('_', '/') : text.replace(/=+$/, '');
  if (plain.length % 4 === 1) return null;
  try {
    const binary = atob(plain + '='.repeat((4 - (plain.length % 4)) % 4));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Reads one key variable: base64 (standard, padding optional) of exactly 32 random bytes, e.g.
 * from `openssl rand -base64 32`. Anything else is refused with a message naming the variable
 * and saying how to make a key, never echoing the value.
 */
export async function importEncryptionKey(variable: string, value: string): Promise<EncryptionKey> {
  const bytes = base64Decode(value.trim(), 'standard');
  if (!bytes || bytes.length !== KEY_BYTES) {
    const got = bytes ? `${bytes.length} bytes` : 'text that is not base64';
    throw new EncryptionKeyError(
      `${variable} must be the base64 of 32 random bytes (make one with \`openssl rand -base64 32\`); got ${got}`,
    );
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return { id: toHex(digest).slice(0, KEY_ID_HEX), key };
}

/**
 * The key ring from the two variables' values. Null when the current key is unset (secrets can
 * then be neither sealed nor opened: the caller says so); a previous key without a current one,
 * or a malformed one, is an EncryptionKeyError.
 */
export async function loadKeyRing(values: {
  current?: string | undefined;
  previous?: string | undefined;
}): Promise<KeyRing | null> {
  const current = values.current?.trim();
  const previous = values.previous?.trim();
  if (!current) {
    if (previous) {
      throw new EncryptionKeyError(
        `${PREVIOUS_KEY_VARIABLE} is set but ${CURRENT_KEY_VARIABLE} is not: the previous key only opens old secrets, the current one is needed to seal`,
      );
    }
    return null;
  }
  const currentKey = await importEncryptionKey(CURRENT_KEY_VARIABLE, current);
  const previousKey = previous ? await importEncryptionKey(PREVIOUS_KEY_VARIABLE, previous) : null;
  // The same key under both names (a rotation finished, the variable not yet removed): one key.
  return {
    current: currentKey,
    previous: previousKey && previousKey.id !== currentKey.id ? previousKey : null,
  };
}

/** Seals `plaintext` with the ring's current key, bound to `context` (see `secretContext`). */
export async function sealSecret(ring: KeyRing, plaintext: string, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(context), tagLength: 128 },
    ring.current.key,
    encoder.encode(plaintext),
  );
  return `${SEALED_VERSION}.${ring.current.id}.${base64UrlEncode(iv)}.${base64UrlEncode(new Uint8Array(ciphertext))}`;
}

/** The id of the key that sealed `sealed`, or null when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 4 && parts[0] === SEALED_VERSION && /^[0-9a-f]{8}$/.test(parts[1] ?? '')
    ? (parts[1] ?? null)
    : null;
}

/**
 * Opens a sealed value with whichever key of the ring sealed it. Throws SealedSecretError saying
 * why (never with the value): sealed with a key the ring does not hold, or it fails
 * authentication (tampered, another row's or field's ciphertext, or not a sealed value).
 */
export async function openSecret(ring: KeyRing, sealed: string, context: string): Promise<string> {
  const parts = sealed.split('.');
  const keyId = sealedKeyId(sealed);
  if (!keyId) throw new SealedSecretError('not a sealed value (expected v1.<keyId>.<iv>.<ciphertext>)');
  const key = [ring.current, ring.previous].find((candidate) => candidate?.id === keyId);
  if (!key) {
    throw new SealedSecretError(
      `sealed with key ${keyId}, which is neither ${CURRENT_KEY_VARIABLE} (${ring.current.id}) nor ${PREVIOUS_KEY_VARIABLE}${ring.previous ? ` (${ring.previous.id})` : ' (unset)'}`,
    );
  }
  const iv = base64Decode(parts[2] ?? '', 'url');
  const ciphertext = base64Decode(parts[3] ?? '', 'url');
  if (!iv || iv.length !== IV_BYTES || !ciphertext) throw new SealedSecretError('malformed sealed value');
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(context), tagLength: 128 },
      key.key,
      ciphertext,
    );
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(plaintext);
  } catch {
    throw new SealedSecretError(
      `sealed value does not open with key ${keyId}: tampered with, or it belongs to another row or field`,
    );
  }
}
