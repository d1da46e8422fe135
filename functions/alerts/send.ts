import type { KeyRing } from '../../core/crypto/sealed-secrets';
import type { alertChannels } from '../../drizzle/schema';
import type { Env } from '../env';
import { openChannelField } from './channel-secrets';
import { emailText, headline, type NotificationPayload, slackBody } from './notifications';
import { outboundUrlProblem } from './outbound-url';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature';

/** One attempt to deliver one notification to one channel, bounded in time. */

export type ChannelRow = typeof alertChannels.$inferSelect;

/** How long one attempt may take before it counts as failed (the receiver may still get it). */
export const ATTEMPT_TIMEOUT_MS = 5000;

export interface AttemptOutcome {
  ok: boolean;
  /** The receiver's HTTP status (null: no answer). */
  status: number | null;
  error: string | null;
}

/** Resend's API; the base URL can be moved only to this machine, for tests (see README). */
const RESEND_API = 'https://api.resend.com';

/** A channel kind's problem with the deployment, said without any secret. */
class ChannelError extends Error {}

function emailApiBase(env: Env): string {
  const override = env.WATCHTOWER_RESEND_API_URL?.trim();
  if (!override) return RESEND_API;
  // Tests only: a local stand-in. Anything but a loopback address is refused, so this variable
  // cannot send alert emails (and the API key) anywhere else.
  const url = new URL(override);
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new ChannelError('WATCHTOWER_RESEND_API_URL may only point at 127.0.0.1 or localhost (tests)');
  }
  return override.replace(/\/+$/, '');
}

async function request(
  channel: ChannelRow,
  ring: KeyRing | null,
  env: Env,
  payload: NotificationPayload,
  deliveryId: number,
): Promise<{ url: string; init: RequestInit }> {
  const open = async (field: 'url' | 'secret', sealed: string | null): Promise<string> => {
    if (sealed === null) throw new ChannelError(`the channel has no ${field}`);
    if (!ring)
      throw new ChannelError('WATCHTOWER_ENCRYPTION_KEY is not set, so the channel cannot be opened');
    return openChannelField(ring, channel.id, field, sealed);
  };
  switch (channel.kind) {
    case 'slack': {
      const url = await open('url', channel.urlSealed);
      return {
        url,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(slackBody(payload)),
        },
      };
    }
    case 'webhook': {
      const url = await open('url', channel.urlSealed);
      const secret = await open('secret', channel.secretSealed);
      const body = JSON.stringify(payload);
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        url,
        init: {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Watchtower-Alerts',
            'x-watchtower-delivery': String(deliveryId),
            [TIMESTAMP_HEADER]: timestamp,
            [SIGNATURE_HEADER]: await signWebhook(secret, timestamp, body),
          },
          body,
        },
      };
    }
    case 'email': {
      const key = env.WATCHTOWER_RESEND_API_KEY?.trim();
      const from = env.WATCHTOWER_ALERT_EMAIL_FROM?.trim();
      if (!key || !from) {
        throw new ChannelError(
          'email channels need WATCHTOWER_RESEND_API_KEY and WATCHTOWER_ALERT_EMAIL_FROM to be set',
        );
      }
      return {
        url: `${emailApiBase(env)}/emails`,
        init: {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${key}`,
            // Resend drops a second request with the same key: a retry after a lost answer is not
            // a second email.
            'idempotency-key': `watchtower-delivery-${deliveryId}`,
          },
          body: JSON.stringify({
            from,
            to: channel.emailTo ?? [],
            subject: headline(payload),
            text: emailText(payload),
          }),
        },
      };
    }
  }
}

/** Never throws: every failure is an outcome, recorded with the delivery. */
export async function attemptDelivery(
  channel: ChannelRow,
  ring: KeyRing | null,
  env: Env,
  payload: NotificationPayload,
  deliveryId: number,
): Promise<AttemptOutcome> {
  let target = '';
  try {
    const { url, init } = await request(channel, ring, env, payload, deliveryId);
    target = url;
    const problem = outboundUrlProblem(url);
    if (problem) return { ok: false, status: null, error: `the channel's URL ${problem}` };
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    // The body is not needed; read it (bounded by the timeout) so the connection is released.
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300)
      return { ok: true, status: response.status, error: null };
    return { ok: false, status: response.status, error: `the receiver answered HTTP ${response.status}` };
  } catch (error) {
    if (error instanceof ChannelError) return { ok: false, status: null, error: error.message };
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { ok: false, status: null, error: `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` };
    }
    // Never the URL itself (a Slack webhook URL is a credential): only what went wrong.
    const raw = error instanceof Error ? error.message : String(error);
    const message = target === '' ? raw : raw.replaceAll(target, '<url>');
    return { ok: false, status: null, error: `could not send: ${message.slice(0, 200)}` };
  }
}
