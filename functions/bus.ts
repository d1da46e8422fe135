import type { CommandBus } from '../core/bus/command-bus';
import { DatabaseCommandBus } from '../core/bus/database-command-bus';
import { RedisCommandBus } from '../core/bus/redis-command-bus';
import { createUpstashRedisClient } from '../core/bus/upstash-redis-client';
import type { StatementDatabase } from '../core/db/database';
import { requireBinding } from './config';
import type { Env } from './env';
import { misconfigured } from './http-error';

/**
 * The one place the Cloudflare Worker chooses the command-bus driver (the worker-host has its own).
 */

export const BUS_DRIVERS = ['database', 'redis'] as const;
export type BusDriver = (typeof BUS_DRIVERS)[number];

/** Reads WATCHTOWER_COMMAND_BUS, defaulting to `database`; anything else is a deployment error. */
export function busDriver(env: Env): BusDriver {
  const value = env.WATCHTOWER_COMMAND_BUS?.trim() || 'database';
  if (!(BUS_DRIVERS as readonly string[]).includes(value)) {
    throw misconfigured(
      `WATCHTOWER_COMMAND_BUS must be one of ${BUS_DRIVERS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as BusDriver;
}

/**
 * Checks, without connecting, that the chosen driver has what it needs, so a misconfigured
 * deployment fails every request with a clear message rather than on first use.
 */
export function checkBusConfig(env: Env): BusDriver {
  const driver = busDriver(env);
  if (driver === 'redis') {
    requireBinding(env, 'UPSTASH_REDIS_REST_URL');
    requireBinding(env, 'UPSTASH_REDIS_REST_TOKEN');
  }
  return driver;
}

/** `database` takes the request's drizzle db lazily, so the redis bus never opens a database pool. */
export function createCommandBus(env: Env, database: () => StatementDatabase): CommandBus {
  switch (checkBusConfig(env)) {
    case 'database':
      return new DatabaseCommandBus(database());
    case 'redis':
      return new RedisCommandBus(
        createUpstashRedisClient({
          url: requireBinding(env, 'UPSTASH_REDIS_REST_URL'),
          token: requireBinding(env, 'UPSTASH_REDIS_REST_TOKEN'),
        }),
      );
  }
}
