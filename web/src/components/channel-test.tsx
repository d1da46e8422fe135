import { useSignal } from '@preact/signals';
import type { AlertChannel, Delivery } from '../api/alerts';
import { api } from '../api/client';
import { refusalOf, UNREACHABLE } from '../api/field-errors';

type Outcome = { ok: true; delivery: Delivery } | { ok: false; message: string } | null;

/** "Send test": one attempt now (POST /api/alerts/channels/{id}/test), and how it went, by the button. */
export function ChannelTest({ channel, onSent }: { channel: AlertChannel; onSent: () => void }) {
  const busy = useSignal(false);
  const outcome = useSignal<Outcome>(null);

  async function send() {
    busy.value = true;
    outcome.value = null;
    try {
      const response = await api.api.alerts.channels[':id'].test.$post({ param: { id: channel.id } });
      outcome.value = response.ok
        ? { ok: true, delivery: (await response.json()) as Delivery }
        : { ok: false, message: (await refusalOf(response)).message };
    } catch {
      outcome.value = { ok: false, message: UNREACHABLE.message };
    }
    busy.value = false;
    onSent();
  }

  const result = outcome.value;
  return (
    <>
      <button
        type="button"
        aria-label={`Send test to ${channel.name}`}
        disabled={busy.value}
        onClick={() => void send()}
      >
        {busy.value ? 'Sending…' : 'Send test'}
      </button>
      {result !== null && (
        <p
          class={`probe ${result.ok && result.delivery.status === 'sent' ? 'outcome-ok' : 'alerts-error'}`}
          role="status"
        >
          {result.ok
            ? result.delivery.status === 'sent'
              ? `Test sent${result.delivery.lastStatus === null ? '' : ` (HTTP ${result.delivery.lastStatus})`}.`
              : `Test failed: ${result.delivery.lastError ?? `HTTP ${result.delivery.lastStatus ?? 'no answer'}`}`
            : `Test not sent: ${result.message}`}
        </p>
      )}
    </>
  );
}
