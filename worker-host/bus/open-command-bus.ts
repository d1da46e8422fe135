import type { CommandBus } from '../../core/bus/command-bus';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { RedisCommandBus } from '../../core/bus/redis-command-bus';
import type { Database } from '../../core/db/database';
import { createNodeDatabase } from '../db/node-database';
import { createIoredisClient } from './ioredis-client';
import { PgNotificationListener } from './pg-notification-listener';

/**
 * The one place in Node that picks the command-bus driver (the Cloudflare Worker has its own in
 * functions/bus.ts). `database` rides on the host's Postgres with LISTEN/NOTIFY for push;
 * `redis` uses its own Redis (a blocking subscription for push), which need not be the queues'.
 */

export const BUS_DRIVERS = ['database', 'redis'] as const;
export type BusDriver = (typeof BUS_DRIVERS)[number];

export class BusConfigError extends Error {
  override readonly name = 'BusConfigError';
}

export function busDriver(env: NodeJS.ProcessEnv = process.env): BusDriver {
  const value = env.WATCHTOWER_COMMAND_BUS?.trim() || 'database';
  if (!(BUS_DRIVERS as readonly string[]).includes(value)) {
    throw new BusConfigError(
      `WATCHTOWER_COMMAND_BUS must be one of ${BUS_DRIVERS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as BusDriver;
}

/** The Redis the bus uses: its own variable first, so the bus can live apart from the queues. */
export function busRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.WATCHTOWER_BUS_REDIS_URL?.trim() || env.REDIS_URL?.trim();
  if (!url) {
    throw new BusConfigError(
      'WATCHTOWER_COMMAND_BUS=redis needs WATCHTOWER_BUS_REDIS_URL (or REDIS_URL), e.g. redis://127.0.0.1:6379',
    );
  }
  return url;
}

export interface OpenCommandBusOptions {
  env?: NodeJS.ProcessEnv;
  databaseUrl: string;
  /** The host's drizzle database, reused by the database driver so it opens no second pool. */
  db?: Database;
  onError?: (error: Error) => void;
}

export function openCommandBus(options: OpenCommandBusOptions): { bus: CommandBus; driver: BusDriver } {
  const env = options.env ?? process.env;
  const driver = busDriver(env);
  if (driver === 'redis') {
    const client = createIoredisClient(busRedisUrl(env), { onError: options.onError });
    return { bus: new RedisCommandBus(client), driver };
  }
  const listener = new PgNotificationListener(options.databaseUrl);
  if (options.db) return { bus: new DatabaseCommandBus(options.db, { listener }), driver };
  const { db, close } = createNodeDatabase(options.databaseUrl, { max: 2 });
  return { bus: new DatabaseCommandBus(db, { listener, close }), driver };
}
