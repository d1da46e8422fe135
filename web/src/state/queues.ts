import { api } from '../api/client';
import type { HostList, QueueList } from '../api/queues';
import { createPoller } from './poller';

/** GET /api/queues: each queue's jobs by state, oldest wait, last hour and confirmed paused state. */
export const queuesPoll = createPoller<QueueList>((headers) => api.api.queues.$get(undefined, { headers }));

/** GET /api/hosts: the live hosts with their status and heartbeat. */
export const hostsPoll = createPoller<HostList>((headers) => api.api.hosts.$get({ query: {} }, { headers }));
