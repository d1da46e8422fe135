import type { AlertChannel } from '../api/alerts';
import { channelDeliveryState } from '../lib/channel-delivery';
import { RelativeTime } from './relative-time';

/**
 * A channel's newest delivery (the API's `lastDelivery`, however old): "OK", "Failing" with the
 * receiver's answer and the attempts, or "Sending"; then when. "never" before the first.
 */
export function ChannelLastDelivery({
  delivery,
  now,
}: {
  delivery: AlertChannel['lastDelivery'];
  now: number;
}) {
  const state = channelDeliveryState(delivery);
  if (delivery === null) return <span class="cell-sub">{state.label}</span>;
  return (
    <span class="channel-last">
      <span>
        <span class={`status status-${state.tone}`}>{state.label}</span>{' '}
        <span class="cell-sub">
          {delivery.type === 'test' ? 'test, ' : ''}
          <RelativeTime at={delivery.at} now={now} />
        </span>
      </span>
      {state.detail !== null && (
        <span class="channel-last-error" title={state.detail}>
          {state.detail}
        </span>
      )}
    </span>
  );
}
