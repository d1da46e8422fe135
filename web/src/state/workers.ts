import { api } from '../api/client';
import type { WorkersSnapshot } from '../api/workers';
import { type Answer, createPoller } from './poller';

/**
 * The Workers page's poll: hosts, supervisors and worker processes, asked together each tick (and
 * the next tick only once all three answered), so a host's counts and its rows come from the same
 * moment. A failure of any of the three is the tick's failure: the page keeps the last snapshot.
 */
export const workersPoll = createPoller<WorkersSnapshot>(async (headers): Promise<Answer> => {
  const [hosts, supervisors, workers] = await Promise.all([
    api.api.hosts.$get({ query: {} }, { headers }),
    api.api.supervisors.$get(undefined, { headers }),
    api.api.workers.$get({ query: {} }, { headers }),
  ]);
  if (!hosts.ok) return hosts;
  if (!supervisors.ok) return supervisors;
  if (!workers.ok) return workers;
  const snapshot: WorkersSnapshot = {
    hosts: await hosts.json(),
    supervisors: await supervisors.json(),
    workers: await workers.json(),
  };
  return {
    ok: true,
    status: 200,
    statusText: 'OK',
    headers: workers.headers,
    json: () => Promise.resolve(snapshot),
  };
});
