import type { CommandBus } from '../../core/bus/command-bus';
import type { Database } from '../../core/db/database';
import { openCommandBus } from '../bus/open-command-bus';
import { createNodeDatabase } from '../db/node-database';
import { databaseUrl, print, printError } from './cli-support';
import { type LiveHost, liveHosts, waitForCommand } from './live-hosts';

/**
 * What `restart` and `terminate` share: send one host command to every live host and report each
 * host's answer. Returns the hosts that acknowledged, for `terminate --wait`.
 */
export async function sendToHosts(
  type: 'host.restart' | 'host.terminate',
  options: {
    before?: (bus: CommandBus) => Promise<void>;
    after?: (db: Database, hosts: LiveHost[]) => Promise<void>;
  } = {},
): Promise<number> {
  const url = databaseUrl();
  const database = createNodeDatabase(url, { max: 2 });
  const { bus } = openCommandBus({ databaseUrl: url, db: database.db });
  try {
    await options.before?.(bus);
    const hosts = await liveHosts(database.db);
    if (hosts.length === 0) {
      print('No running hosts.');
      return 0;
    }
    const sent = await Promise.all(
      hosts.map(async (host) => ({
        host,
        command: await bus.send({
          target: { kind: 'host', id: host.host_id },
          type,
          ttl: 60,
          createdBy: 'cli',
        }),
      })),
    );
    let failures = 0;
    const acknowledged: LiveHost[] = [];
    for (const { host, command } of sent) {
      const answer = await waitForCommand(bus, command.id, 20_000);
      const label = `${host.host_id} (${host.hostname}, pid ${host.pid})`;
      if (answer?.status === 'done') {
        acknowledged.push(host);
        print(`${label}: ${type === 'host.restart' ? 'restarting its worker processes' : 'terminating'}`);
      } else {
        failures++;
        printError(`${label}: ${answer?.error ?? `no answer (command ${answer?.status ?? 'lost'})`}`);
      }
    }
    await options.after?.(database.db, acknowledged);
    return failures === 0 ? 0 : 1;
  } finally {
    await bus.close().catch(() => undefined);
    await database.close().catch(() => undefined);
  }
}
