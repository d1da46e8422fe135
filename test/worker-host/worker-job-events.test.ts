import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobEventsMessage } from '../../worker-host/recorder/job-events-message';
import { attachJobEvents } from '../../worker-host/recorder/worker-job-events';
import { testEnv } from '../setup/test-env';
import { pollUntil } from './fixtures/recorder-harness';

/**
 * A worker process's half of the recorder wakes for its send window only while a job runs or an
 * event waits to be sent: idle, it costs no timer at all.
 */
const run = Math.random().toString(36).slice(2, 8);
const connection = { url: testEnv.redisUrl };
const queues: Queue[] = [];

afterAll(async () => {
  for (const queue of queues) {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
});

describe("a worker process's job events", () => {
  it('sends every job, and does not wake while nothing runs', async () => {
    const queue = new Queue(`job-events-idle-${run}`, { connection });
    queues.push(queue);
    // A drained worker looks for new jobs again at least every second (BullMQ's drainDelay, 5 s by
    // default): on a busy machine a new job's wake-up can be missed, and the test is not about that.
    const worker = new Worker(queue.name, async () => 1, { connection, concurrency: 5, drainDelay: 1 });
    worker.on('error', () => undefined);
    const messages: JobEventsMessage[] = [];
    const events = attachJobEvents(
      worker,
      { connection: 'default', queue: queue.name, workerId: 'w-1', hostId: 'h-1' },
      (message) => messages.push(message as JobEventsMessage),
      { windowMs: 20 },
    );
    const sent = () => messages.flatMap((message) => message.events).length;
    try {
      await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'job', data: { i } })));
      await pollUntil(
        async () => sent(),
        (n) => n === 5,
        10_000,
        10,
      );
      expect(sent()).toBe(5);
      // The tick after the last send finds nothing left and stops the timer.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const idleFrom = events.stats().wakeups;
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Ticking every 20 ms, it would have woken about 25 times.
      expect(events.stats().wakeups).toBe(idleFrom);

      // A new job arms it again: its event still goes out within the window.
      await queue.add('job', { i: 5 });
      await pollUntil(
        async () => sent(),
        (n) => n === 6,
        20_000,
        10,
      );
      expect(sent()).toBe(6);
      expect(events.stats().wakeups).toBeGreaterThan(idleFrom);
      expect(messages.flatMap((message) => message.events).map((event) => event[0])).toEqual(
        Array(6).fill('completed'),
      );
    } finally {
      await worker.close();
      events.close();
    }
  });
});
