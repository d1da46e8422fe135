import { env } from 'cloudflare:workers';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import { createUpstashRedisClient } from '../../core/bus/upstash-redis-client';
import { commandBusContract } from '../contract/command-bus.contract';

// The contract inside workerd on the redis driver, as the Cloudflare Worker opens it: @upstash/redis
// over REST (locally through the REST front). REST cannot receive pushes.
commandBusContract(
  'redis driver over Upstash REST, workerd',
  async () =>
    new RedisCommandBus(
      createUpstashRedisClient({ url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! }),
    ),
  { push: false },
);
