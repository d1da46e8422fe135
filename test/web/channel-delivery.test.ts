import { describe, expect, it } from 'vitest';
import { channelDeliveryState, type LastDelivery } from '../../web/src/lib/channel-delivery';

/**
 * The Alerts page's Last delivery column: a channel whose newest delivery gave up, or failed and
 * waits for its next attempt, reads "Failing" in words, with the receiver's answer.
 */

function delivery(fields: Partial<LastDelivery>): LastDelivery {
  return {
    id: 1,
    at: '2026-01-01T00:00:00.000Z',
    status: 'sent',
    attempts: 1,
    type: 'alert.firing',
    eventId: 7,
    httpStatus: 200,
    error: null,
    ...fields,
  };
}

describe('channelDeliveryState', () => {
  it('reads never, OK, Failing or Sending', () => {
    expect(channelDeliveryState(null)).toMatchObject({ state: 'never', label: 'never' });
    expect(channelDeliveryState(delivery({}))).toMatchObject({ state: 'ok', label: 'OK', detail: null });
    expect(
      channelDeliveryState(
        delivery({ status: 'failed', attempts: 5, httpStatus: 500, error: 'the receiver answered HTTP 500' }),
      ),
    ).toEqual({
      state: 'failing',
      label: 'Failing',
      tone: 'failed',
      detail: 'the receiver answered HTTP 500 (after 5 attempts)',
    });
    expect(
      channelDeliveryState(delivery({ status: 'pending', attempts: 2, httpStatus: null, error: null })),
    ).toMatchObject({
      state: 'failing',
      label: 'Failing',
      detail: 'no answer (2 attempts so far, retrying)',
    });
    expect(
      channelDeliveryState(delivery({ status: 'failed', attempts: 1, error: null, httpStatus: 502 })),
    ).toMatchObject({ detail: 'HTTP 502 (after 1 attempt)' });
    expect(channelDeliveryState(delivery({ status: 'pending', attempts: 0 }))).toMatchObject({
      state: 'sending',
      label: 'Sending',
    });
    expect(channelDeliveryState(delivery({ status: 'sending', attempts: 3 }))).toMatchObject({
      state: 'sending',
    });
  });
});
