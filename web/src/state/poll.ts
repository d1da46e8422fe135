import { api, type PollBody } from '../api/client';
import { createPoller } from './poller';

/** The dashboard's headline poll (GET /api/poll): stats, the newest jobs, the workers. */
export const dashboardPoll = createPoller<PollBody>((headers) => api.api.poll.$get(undefined, { headers }));
