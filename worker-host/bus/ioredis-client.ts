import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisClient } from '../../core/bus/redis-client';

/**
 * The redis bus's client in Node, over ioredis (TCP, so it can also hold a subscription for push
 * wake-ups). Node only: the Cloudflare Worker uses the Upstash REST client.
 */
export function createIoredisClient(
  url: string,
  options: { onError?: (error: Error) => void } = {},
): RedisClient {
  // A few retries, not ioredis's 20: when Redis is down the caller should hear about it (as a
  // BusError 'unavailable') within a poll or two, and polling is the retry.
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  // Without a listener ioredis prints every reconnect failure; failed calls reach the caller anyway.
  const onError = options.onError ?? (() => undefined);
  redis.on('error', onError);
  const subscribers = new Set<Redis>();
  const shas = new Map<string, string>();

  return {
    async eval(source, keys, args) {
      let sha = shas.get(source);
      if (!sha) {
        sha = createHash('sha1').update(source).digest('hex');
        shas.set(source, sha);
      }
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        // The script cache is empty after a restart or SCRIPT FLUSH: EVAL loads it again.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await redis.eval(source, keys.length, ...keys, ...args);
      }
    },
    get: (key) => redis.get(key),
    async set(key, value, ttlSeconds) {
      await redis.set(key, value, 'EX', ttlSeconds);
    },
    async del(key) {
      await redis.del(key);
    },
    async subscribe(channel, onMessage) {
      // A subscribed connection can run nothing else, so each subscription gets its own. ioredis
      // subscribes again after a reconnect; messages sent meanwhile are lost, which polling covers.
      const subscriber = redis.duplicate();
      subscriber.on('error', onError);
      subscriber.on('message', (from: string, message: string) => {
        if (from === channel) onMessage(message);
      });
      try {
        await subscriber.subscribe(channel);
      } catch (error) {
        subscriber.disconnect();
        throw error;
      }
      subscribers.add(subscriber);
      return async () => {
        if (!subscribers.delete(subscriber)) return;
        await quit(subscriber);
      };
    },
    async close() {
      const all = [...subscribers, redis];
      subscribers.clear();
      await Promise.all(all.map(quit));
    },
  };
}

/** QUIT waits for pending replies; a connection that cannot answer is dropped instead. */
async function quit(connection: Redis): Promise<void> {
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}
