import { type KeyRing, openSecret, sealSecret, secretContext } from '../../core/crypto/sealed-secrets';

/** A channel's sealed fields: its URL (slack, webhook) and its signing secret (webhook). */
export type ChannelSecretField = 'url' | 'secret';

function context(id: string, field: ChannelSecretField): string {
  return secretContext('watchtower_alert_channels', id, field);
}

export function sealChannelField(
  ring: KeyRing,
  id: string,
  field: ChannelSecretField,
  plaintext: string,
): Promise<string> {
  return sealSecret(ring, plaintext, context(id, field));
}

export function openChannelField(
  ring: KeyRing,
  id: string,
  field: ChannelSecretField,
  sealed: string,
): Promise<string> {
  return openSecret(ring, sealed, context(id, field));
}
