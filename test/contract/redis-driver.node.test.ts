import { afterAll, beforeAll } from 'vitest';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { createUpstashRedisClient } from '../../core/bus/upstash-redis-client';
import { startUpstashRest } from '../../scripts/local-only/upstash-rest';
import { createIoredisClient } from '../../worker-host/bus/ioredis-client';
import { testEnv } from '../setup/test-env';
import { commandBusContract } from './command-bus.contract';

// The contract on the redis driver in Node: over TCP as a worker-host opens it (with pub/sub push),
// and over Upstash's REST protocol as the Cloudflare Worker's client speaks it (no push).
commandBusContract(
  'redis driver over TCP (ioredis), node',
  async () => new RedisCommandBus(createIoredisClient(testEnv.redisUrl)),
  { push: true },
);

let rest: Awaited<ReturnType<typeof startUpstashRest>> | undefined;
beforeAll(async () => {
  rest = await startUpstashRest({ port: 0, token: testEnv.upstashToken, redisUrl: testEnv.redisUrl });
});
afterAll(async () => {
  await rest?.close();
});

commandBusContract(
  'redis driver over REST (@upstash/redis), node',
  async () => new RedisCommandBus(createUpstashRedisClient({ url: rest!.url, token: testEnv.upstashToken })),
  { push: false },
);
