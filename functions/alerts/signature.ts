/**
 * How webhook notifications are signed, so a receiver can check they come from this Watchtower:
 *
 *   X-Watchtower-Timestamp: <unix seconds>
 *   X-Watchtower-Signature: sha256=<hex HMAC-SHA-256 of "<timestamp>.<raw body>" keyed by the secret>
 *
 * A receiver recomputes the HMAC over the timestamp header, a dot and the raw body bytes as
 * received, compares it in constant time, and refuses a timestamp far from its clock (e.g. more
 * than 5 minutes) so a captured request cannot be replayed later.
 */

export const SIGNATURE_HEADER = 'X-Watchtower-Signature';
export const TIMESTAMP_HEADER = 'X-Watchtower-Timestamp';

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** `sha256=<hex>` over `<timestamp>.<body>`. */
export async function signWebhook(secret: string, timestamp: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return `sha256=${hex(await crypto.subtle.sign('HMAC', key, encoder.encode(`${timestamp}.${body}`)))}`;
}
