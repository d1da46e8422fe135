import { Redis } from '@upstash/redis/cloudflare';
import type { RedisClient } from './redis-client';

type Script = ReturnType<Redis['createScript']>;

/**
 * The redis bus's client over Upstash's REST API: fetch only, so it runs inside a Cloudflare Worker
 * (and in Node). REST cannot hold a subscription, so there is no `subscribe`: hosts that reach
 * Upstash this way poll.
 */
export function createUpstashRedisClient(options: { url: string; token: string }): RedisClient {
  const redis = new Redis({
    url: options.url,
    token: options.token,
    // Values are our own JSON text, parsed by the bus: the client must hand strings back as they are
    // (it still base64-decodes the REST answers itself).
    automaticDeserialization: false,
    enableTelemetry: false,
  });
  // One Script per source: it remembers the sha1 and tries EVALSHA before EVAL, so the claim script
  // (a few kB) crosses the network once per isolate, not once per poll.
  const scripts = new Map<string, Script>();

  return {
    eval(source, keys, args) {
      let script = scripts.get(source);
      if (!script) {
        script = redis.createScript(source);
        scripts.set(source, script);
      }
      return script.exec(
        keys,
        args.map((arg) => String(arg)),
      );
    },
    async get(key) {
      const value = await redis.get<string>(key);
      return value === null || value === undefined ? null : String(value);
    },
    async set(key, value, ttlSeconds) {
      await redis.set(key, value, { ex: ttlSeconds });
    },
    async del(key) {
      await redis.del(key);
    },
    // Each call is one HTTP request; there is nothing to close.
    async close() {},
  };
}
