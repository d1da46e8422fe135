import { api } from '../api/client';
import type { ConnectionHealthAnswer, HealthRange } from '../api/health';
import { createPoller, type Poller } from './poller';

export const HEALTH_RANGES = ['1h', '24h', '7d', '30d', '90d'] as const satisfies readonly HealthRange[];

const pollers = new Map<HealthRange, Poller<ConnectionHealthAnswer>>();

/** One poller of GET /api/health/connections per range, kept for the visit. */
export function healthPoller(range: HealthRange): Poller<ConnectionHealthAnswer> {
  let poller = pollers.get(range);
  if (!poller) {
    poller = createPoller<ConnectionHealthAnswer>((headers) =>
      api.api.health.connections.$get({ query: { range } }, { headers }),
    );
    pollers.set(range, poller);
  }
  return poller;
}
