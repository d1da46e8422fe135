import { describe, expect, it } from 'vitest';
import { ttlEnded } from '../../worker-host/bus/command-poller';

describe('ttlEnded', () => {
  const busNow = Date.parse('2030-01-01T12:00:00Z');
  const claimed = { claimedAt: new Date(busNow), expiresAt: new Date(busNow + 5_000) };

  it('judges a TTL by the bus clock: only the time elapsed on this host counts', () => {
    // This host's clock an hour behind the bus's, and an hour ahead: the same answers.
    for (const hostNow of [busNow - 3_600_000, busNow + 3_600_000]) {
      expect(ttlEnded(claimed, hostNow, hostNow)).toBe(false);
      expect(ttlEnded(claimed, hostNow, hostNow + 4_999)).toBe(false);
      expect(ttlEnded(claimed, hostNow, hostNow + 5_000)).toBe(true);
    }
  });

  it('never calls a command without a claim time ended', () => {
    expect(ttlEnded({ claimedAt: null, expiresAt: new Date(0) }, busNow, busNow)).toBe(false);
  });
});
