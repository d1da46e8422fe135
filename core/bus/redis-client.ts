/**
 * The little the redis command bus needs from a Redis client, so one driver runs on Upstash's REST
 * client inside a Cloudflare Worker and on ioredis in Node, over the same keys.
 *
 * Adapters do not wrap errors: the bus wraps every call in `backendCall`.
 */
export interface RedisClient {
  /**
   * Runs a Lua script atomically. Adapters should send EVALSHA and fall back to EVAL on NOSCRIPT,
   * so a poll over REST does not upload the script each time. Replies come back as Redis gives
   * them to Lua callers (RESP2): strings raw, integers as numbers, arrays as arrays, nil as null.
   */
  eval(script: string, keys: string[], args: (string | number)[]): Promise<unknown>;
  get(key: string): Promise<string | null>;
  /** SET with EX. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Receives pub/sub messages on `channel` until the returned function is called. Absent where the
   * client cannot hold a subscription (Upstash REST inside a Cloudflare Worker).
   */
  subscribe?(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
