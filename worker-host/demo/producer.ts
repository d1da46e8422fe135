/**
 * Adds demo jobs to the demo queues until stopped, or a fixed number with --once.
 *
 *   tsx worker-host/demo/producer.ts [--rate=jobs-per-second] [--once=n]
 *
 * `npm start` does not need it: the demo configuration starts the same producer inside the host
 * when WATCHTOWER_DEMO_PRODUCER=1.
 */
import { parseArgs } from 'node:util';
import { startDemoProducer } from './demo-producer';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '5' }, once: { type: 'string' } },
});
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

if (values.once) {
  const producer = startDemoProducer({ url, rate: 0.1 });
  await producer.addMany(Number(values.once));
  await producer.stop();
  console.log(`Added ${producer.added()} demo jobs.`);
} else {
  const producer = startDemoProducer({ url, rate: Number(values.rate) || 5 });
  console.log('Adding demo jobs to demo-emails, demo-webhooks and demo-reports (Ctrl-C stops).');
  const stop = () => void producer.stop().then(() => console.log(`Added ${producer.added()} demo jobs.`));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
