import type { Job } from 'bullmq';
import { randomBetween, work } from './demo-work';

/** Delivers a pretend webhook: some endpoints answer slowly, one in five refuses. */
export default async function deliverWebhook(
  job: Job<{ url: string; event: string }>,
  _token?: string,
  signal?: AbortSignal,
) {
  await work(randomBetween(50, 600), signal);
  if (Math.random() < 0.2) throw new Error(`POST ${job.data.url} answered 503 Service Unavailable`);
  return { status: 200, event: job.data.event };
}
