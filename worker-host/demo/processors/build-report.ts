import type { Job } from 'bullmq';
import { randomBetween, work } from './demo-work';

/** Builds a pretend report: slow, reports progress, rarely fails. */
export default async function buildReport(
  job: Job<{ account: number; month: string }>,
  _token?: string,
  signal?: AbortSignal,
) {
  for (let step = 1; step <= 4; step++) {
    await work(randomBetween(200, 700), signal);
    await job.updateProgress(step * 25);
  }
  if (Math.random() < 0.05)
    throw new Error(`report for account ${job.data.account} has no data for ${job.data.month}`);
  return { rows: randomBetween(10, 5000), month: job.data.month };
}
