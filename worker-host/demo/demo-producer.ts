import { Queue } from 'bullmq';

/**
 * Adds demo jobs to the demo queues: about `rate` per second, with a burst of 200 now and then so
 * auto balancing has something to do. Demo only.
 */
export function startDemoProducer(options: { url: string; rate?: number }): {
  added: () => number;
  addMany: (count: number) => Promise<void>;
  stop: () => Promise<void>;
} {
  const rate = Math.max(0.1, options.rate ?? 5);
  const connection = { url: options.url };
  const queues = {
    emails: new Queue('demo-emails', { connection }),
    webhooks: new Queue('demo-webhooks', { connection }),
    reports: new Queue('demo-reports', { connection }),
  };
  for (const queue of Object.values(queues)) queue.on('error', () => undefined);

  let n = 0;
  let stopped = false;
  const addOne = async (): Promise<void> => {
    n++;
    const roll = Math.random();
    if (roll < 0.6) {
      await queues.emails.add('welcome-email', { to: `user${n}@example.com`, subject: 'Welcome!' });
    } else if (roll < 0.95) {
      await queues.webhooks.add('order.paid', {
        url: `https://hooks.example.com/${n % 7}`,
        event: 'order.paid',
      });
    } else {
      await queues.reports.add('monthly-report', { account: n % 50, month: '2026-10' });
    }
  };
  const addMany = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) await addOne().catch(() => undefined);
  };
  const loop = (async () => {
    while (!stopped) {
      await addMany(Math.random() < 0.02 ? 200 : 1);
      await new Promise((resolve) => setTimeout(resolve, 1000 / rate).unref());
    }
  })();

  return {
    added: () => n,
    addMany,
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(Object.values(queues).map((queue) => queue.close()));
    },
  };
}
