import type { Job } from 'bullmq';
import { randomBetween, work } from './demo-work';

/** Sends a pretend email: fast, and about one in ten fails (and is tried again). */
export default async function sendEmail(
  job: Job<{ to: string; subject: string }>,
  _token?: string,
  signal?: AbortSignal,
) {
  await work(randomBetween(20, 200), signal);
  if (Math.random() < 0.1) throw new Error(`SMTP 451: mailbox of ${job.data.to} is busy, try again later`);
  return { delivered: true, to: job.data.to, messageId: `${job.id}@demo.watchtower` };
}
