import { describe, expect, it } from 'vitest';
import {
  EncryptionKeyError,
  importEncryptionKey,
  type KeyRing,
  loadKeyRing,
  openSecret,
  SealedSecretError,
  sealedKeyId,
  sealSecret,
  secretContext,
} from '../../core/crypto/sealed-secrets';

function randomKey(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');
}

async function ring(current: string, previous?: string): Promise<KeyRing> {
  const loaded = await loadKeyRing({ current, previous });
  if (!loaded) throw new Error('expected a key ring');
  return loaded;
}

const context = secretContext('connections', '0b9e8f3c-0d3a-4d8e-9c1e-2f3a4b5c6d7e', 'password');

describe('sealed secrets', () => {
  it('open to what was sealed, with a fresh iv each time and the key id in the clear', async () => {
    const keys = await ring(randomKey());
    const secret = 'pässwörd with spaces, ünïcode and 🔑';
    const first = await sealSecret(keys, secret, context);
    const second = await sealSecret(keys, secret, context);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealedKeyId(first)).toBe(keys.current.id);
    expect(first).not.toContain(secret);
    expect(await openSecret(keys, first, context)).toBe(secret);
    expect(await openSecret(keys, second, context)).toBe(secret);
    expect(await openSecret(keys, await sealSecret(keys, '', context), context)).toBe('');
  });

  it('name their key by the first 8 hex of SHA-256 of its bytes', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const key = await importEncryptionKey('K', Buffer.from(bytes).toString('base64'));
    const digest = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
    expect(key.id).toBe(digest.slice(0, 8));
  });

  it('do not open with another key, and say which key sealed them', async () => {
    const a = await ring(randomKey());
    const b = await ring(randomKey());
    const sealed = await sealSecret(a, 'secret', context);
    await expect(openSecret(b, sealed, context)).rejects.toThrow(SealedSecretError);
    await expect(openSecret(b, sealed, context)).rejects.toThrow(`sealed with key ${a.current.id}`);
  });

  it('do not open when tampered with, in the iv, the ciphertext or the tag', async () => {
    const keys = await ring(randomKey());
    const sealed = await sealSecret(keys, 'secret value', context);
    const [version, keyId, iv, ciphertext] = sealed.split('.') as [string, string, string, string];
    const flip = (text: string, at: number) => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[at] = (bytes[at] ?? 0) ^ 1;
      return bytes.toString('base64url');
    };
    const ctBytes = Buffer.from(ciphertext, 'base64url').length;
    for (const tampered of [
      [version, keyId, flip(iv, 0), ciphertext].join('.'),
      [version, keyId, iv, flip(ciphertext, 0)].join('.'),
      [version, keyId, iv, flip(ciphertext, ctBytes - 1)].join('.'),
      [version, keyId, iv, ciphertext.slice(0, -4)].join('.'),
      'not sealed at all',
      `${sealed}.extra`,
    ]) {
      await expect(openSecret(keys, tampered, context), tampered).rejects.toThrow(SealedSecretError);
    }
  });

  it('are bound to their row and field: moved elsewhere they do not open', async () => {
    const keys = await ring(randomKey());
    const sealed = await sealSecret(keys, 'secret', context);
    const otherRow = secretContext('connections', '11111111-0d3a-4d8e-9c1e-2f3a4b5c6d7e', 'password');
    const otherField = secretContext('connections', '0b9e8f3c-0d3a-4d8e-9c1e-2f3a4b5c6d7e', 'url');
    await expect(openSecret(keys, sealed, otherRow)).rejects.toThrow(/another row or field/);
    await expect(openSecret(keys, sealed, otherField)).rejects.toThrow(/another row or field/);
  });

  it('sealed with the previous key open during a rotation, and new ones use the current key', async () => {
    const oldKey = randomKey();
    const before = await ring(oldKey);
    const sealed = await sealSecret(before, 'secret', context);
    const during = await ring(randomKey(), oldKey);
    expect(during.previous?.id).toBe(before.current.id);
    expect(await openSecret(during, sealed, context)).toBe('secret');
    expect(sealedKeyId(await sealSecret(during, 'secret', context))).toBe(during.current.id);
    // Once the previous key is gone, what only it sealed no longer opens.
    const after = await ring(randomKey());
    await expect(openSecret(after, sealed, context)).rejects.toThrow(/neither/);
  });

  it('keys are base64 of exactly 32 bytes; anything else is refused naming the variable, not the value', async () => {
    expect(await loadKeyRing({})).toBeNull();
    expect(await loadKeyRing({ current: '  ' })).toBeNull();
    const unpadded = randomKey().replace(/=+$/, '');
    expect((await ring(unpadded)).current.id).toMatch(/^[0-9a-f]{8}$/);
    const short = Buffer.from(new Uint8Array(16)).toString('base64');
    const long = Buffer.from(new Uint8Array(33)).toString('base64');
    for (const bad of [short, long, 'not base64 at all!', 'a'.repeat(43) + '=====', `${'-'.repeat(43)}=`]) {
      const error = await loadKeyRing({ current: bad }).catch((caught: unknown) => caught);
      expect(error, bad).toBeInstanceOf(EncryptionKeyError);
      expect((error as Error).message).toContain(
        'WATCHTOWER_ENCRYPTION_KEY must be the base64 of 32 random bytes',
      );
      expect((error as Error).message).not.toContain(bad);
    }
    await expect(loadKeyRing({ current: randomKey(), previous: short })).rejects.toThrow(
      'WATCHTOWER_ENCRYPTION_KEY_PREVIOUS must be the base64 of 32 random bytes',
    );
    await expect(loadKeyRing({ previous: randomKey() })).rejects.toThrow(/WATCHTOWER_ENCRYPTION_KEY is not/);
    const same = randomKey();
    expect((await ring(same, same)).previous).toBeNull();
  });
});
