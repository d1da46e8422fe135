import type { AlertChannel } from '../api/alerts';

export type LastDelivery = NonNullable<AlertChannel['lastDelivery']>;

/** How a channel stands by its newest delivery: the word shown, its tone and one line of detail. */
export interface ChannelDeliveryState {
  state: 'never' | 'ok' | 'failing' | 'sending';
  label: string;
  /** The badge's class suffix (styles.css `.status-*`). */
  tone: 'completed' | 'failed' | 'processing' | null;
  detail: string | null;
}

function answerOf(delivery: LastDelivery): string {
  if (delivery.error !== null) return delivery.error;
  return delivery.httpStatus === null ? 'no answer' : `HTTP ${delivery.httpStatus}`;
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

/**
 * A channel whose newest delivery gave up (`failed`), or whose attempts so far failed and wait for
 * the next (`pending` with attempts), is failing, in words: the page never says it by colour alone.
 */
export function channelDeliveryState(delivery: AlertChannel['lastDelivery']): ChannelDeliveryState {
  if (delivery === null) return { state: 'never', label: 'never', tone: null, detail: null };
  switch (delivery.status) {
    case 'sent':
      return { state: 'ok', label: 'OK', tone: 'completed', detail: null };
    case 'failed':
      return {
        state: 'failing',
        label: 'Failing',
        tone: 'failed',
        detail: `${answerOf(delivery)} (after ${attemptsText(delivery.attempts)})`,
      };
    case 'pending':
    case 'sending':
      if (delivery.attempts > 0 && delivery.status === 'pending')
        return {
          state: 'failing',
          label: 'Failing',
          tone: 'failed',
          detail: `${answerOf(delivery)} (${attemptsText(delivery.attempts)} so far, retrying)`,
        };
      return { state: 'sending', label: 'Sending', tone: 'processing', detail: null };
  }
}
