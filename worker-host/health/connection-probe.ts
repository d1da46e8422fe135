import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import { backendKind } from '../worker/queue-backend';
import { errorText, type HealthSample, parseInfo, type RedisFacts, redisFacts } from './health-sample';

/** A check that has not answered by then counts as down: a hung server must not look healthy. */
export const CHECK_TIMEOUT_MS = 5_000;
/** Connecting is part of the check: a server that is gone answers "down" in this time at most. */
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * One connection's health checks, on a small client of its own: never the workers' or the queue
 * handles' connections, whose retries and offline queues would make a down server look slow
 * instead of down (and whose traffic would be mixed into the round trip).
 */
export interface ConnectionProbe {
  readonly connection: string;
  readonly url: string;
  check(): Promise<HealthSample>;
  close(): Promise<void>;
}

export function createProbe(connection: string, url: string): ConnectionProbe {
  return backendKind(url) === 'postgres'
    ? new PostgresProbe(connection, url)
    : new RedisProbe(connection, url);
}

abstract class Probe<Client> implements ConnectionProbe {
  protected client: Client | undefined;
  abstract readonly kind: 'redis' | 'postgres';

  constructor(
    readonly connection: string,
    readonly url: string,
  ) {}

  protected abstract open(): Promise<Client>;
  protected abstract roundTrip(client: Client): Promise<void>;
  protected abstract facts(client: Client): Promise<RedisFacts | null>;
  protected abstract drop(client: Client): void;
  protected abstract usable(client: Client): boolean;

  async check(): Promise<HealthSample> {
    const at = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
        CHECK_TIMEOUT_MS,
      );
    });
    try {
      const result = await Promise.race([this.measure(), timeout]);
      return { connection: this.connection, kind: this.kind, at, up: true, error: null, ...result };
    } catch (error) {
      // A client that failed is not trusted again: the next check starts from a fresh one.
      this.reset();
      return {
        connection: this.connection,
        kind: this.kind,
        at,
        up: false,
        latencyMs: null,
        error: errorText(error, this.url),
        redis: null,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private async measure(): Promise<{ latencyMs: number; redis: RedisFacts | null }> {
    // A connection the server closed since the last check (a restart) is replaced, not reported:
    // the check says what connecting now finds.
    if (this.client !== undefined && !this.usable(this.client)) this.reset();
    this.client ??= await this.open();
    const client = this.client;
    const started = performance.now();
    await this.roundTrip(client);
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    return { latencyMs, redis: await this.facts(client) };
  }

  private reset(): void {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) this.drop(client);
  }

  async close(): Promise<void> {
    this.reset();
  }
}

class RedisProbe extends Probe<Redis> {
  readonly kind = 'redis';

  protected async open(): Promise<Redis> {
    const redis = new Redis(this.url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // No retries and no offline queue: a command on a broken connection fails at once.
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // No reconnecting behind the check's back: a dropped client is replaced at the next check.
      retryStrategy: () => null,
      connectionName: 'watchtower-health',
    });
    // Failures reach the check that hit them; without a listener ioredis would print them.
    let cause: unknown;
    redis.on('error', (error: unknown) => {
      cause = error;
    });
    try {
      await redis.connect();
    } catch (error) {
      redis.disconnect();
      // Without retries connect() rejects with "Connection is closed."; the socket's own error
      // (ECONNREFUSED, ENOTFOUND, a TLS failure) says why.
      throw cause ?? error;
    }
    return redis;
  }

  protected usable(redis: Redis): boolean {
    return redis.status === 'ready';
  }

  protected async roundTrip(redis: Redis): Promise<void> {
    await redis.ping();
  }

  protected async facts(redis: Redis): Promise<RedisFacts | null> {
    try {
      return redisFacts(parseInfo(await redis.info('server', 'memory', 'clients')));
    } catch {
      // INFO with several sections needs Redis 7; some hosted Redis refuse INFO altogether. The
      // server answered the PING, so it is up either way.
      try {
        return redisFacts(parseInfo(await redis.info()));
      } catch {
        return null;
      }
    }
  }

  protected drop(redis: Redis): void {
    redis.disconnect();
  }
}

class PostgresProbe extends Probe<pg.Client> {
  readonly kind = 'postgres';

  protected async open(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: CHECK_TIMEOUT_MS,
      application_name: 'watchtower-health',
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      void client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  protected usable(): boolean {
    // pg says nothing about a closed socket until a query fails; the check's failure resets it.
    return true;
  }

  protected async roundTrip(client: pg.Client): Promise<void> {
    await client.query('select 1');
  }

  protected async facts(): Promise<null> {
    return null;
  }

  protected drop(client: pg.Client): void {
    void client.end().catch(() => undefined);
  }
}
