import { defineConfig } from '../config/config-schema';
import { startDemoProducer } from './demo-producer';

/**
 * The local demo (`npm start`): three queues on the local Redis, with processors that take a
 * little time and sometimes fail, so the dashboard has jobs of every kind to show.
 */

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// `npm start` asks for jobs to show: a producer inside the host, started once however often the
// configuration is read (a reload reads it again). Demo only; a real configuration has no side effects.
const demo = globalThis as { watchtowerDemoProducer?: unknown };
if (process.env.WATCHTOWER_DEMO_PRODUCER === '1' && !demo.watchtowerDemoProducer) {
  demo.watchtowerDemoProducer = startDemoProducer({ url: redisUrl, rate: 5 });
}

export default defineConfig({
  connections: {
    default: { url: redisUrl },
  },
  supervisors: [
    {
      name: 'demo-fast',
      connection: 'default',
      queues: ['demo-emails', 'demo-webhooks'],
      balance: 'auto',
      minProcesses: 1,
      maxProcesses: 4,
      concurrency: 5,
      tries: 3,
      timeout: 30,
    },
    {
      name: 'demo-slow',
      connection: 'default',
      queues: ['demo-reports'],
      minProcesses: 1,
      maxProcesses: 1,
      concurrency: 2,
      timeout: 60,
    },
  ],
  processors: {
    'demo-emails': './processors/send-email.ts',
    'demo-webhooks': './processors/deliver-webhook.ts',
    'demo-reports': './processors/build-report.ts',
  },
  host: { heartbeatInterval: 5, pollInterval: 1 },
});
