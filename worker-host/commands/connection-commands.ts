import type {
  CommandArgs,
  ConnectionDiscoverResult,
  ConnectionTestResult,
} from '../../core/commands/command-types';
import type { HostControl } from '../host/host-control';
import {
  COMMAND_TIMEOUT_MS,
  connectRedis,
  describeAddress,
  openConnectionSecret,
  readConnection,
  redisClient,
  withinTime,
} from './connection-client';
import { describeFailure, testConnection } from './connection-test';
import { recordConnectionTest } from './connection-test-record';
import { discoverQueues } from './queue-discovery';

/** How long a whole discovery may take: dozens of SCAN round trips on a slow link. */
const DISCOVER_TIMEOUT_MS = 30_000;

/**
 * `connection.test`: the connection's row read now, so the test sees its latest settings. Its
 * result is kept as the connection's last test before the answer goes back, so a page that
 * reloads on the answer already shows it.
 */
export async function connectionTest(
  host: HostControl,
  args: CommandArgs<'connection.test'>,
): Promise<ConnectionTestResult> {
  const row = await readConnection(host.db, args.connectionId);
  const result = await testConnection(row, host.env);
  await recordConnectionTest(host.db, row.id, host.hostId, result);
  return result;
}

/**
 * `connection.discover`: the queues on a Redis connection. A connection it cannot reach or open
 * fails the command with the reason (its answer has no room for an error), without the secret.
 */
export async function connectionDiscover(
  host: HostControl,
  args: CommandArgs<'connection.discover'>,
): Promise<ConnectionDiscoverResult> {
  const row = await readConnection(host.db, args.connectionId);
  if (row.kind === 'postgres') {
    throw new Error(
      `connection ${row.name} is a postgres connection: discovery scans Redis keys, and BullMQ's Postgres backend keeps none`,
    );
  }
  const secret = await openConnectionSecret(row, host.env);
  const client = redisClient(row, secret, 'watchtower-discover');
  try {
    await withinTime(connectRedis(client), COMMAND_TIMEOUT_MS, describeAddress(row));
    return await withinTime(
      discoverQueues(client, row.keyPrefix ?? 'bull', args.limits),
      DISCOVER_TIMEOUT_MS,
      describeAddress(row),
    );
  } catch (error) {
    throw new Error(`discovery on connection ${row.name} failed: ${describeFailure(error, row, secret)}`);
  } finally {
    client.disconnect();
  }
}
