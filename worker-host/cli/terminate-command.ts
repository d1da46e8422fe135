import { sql } from 'drizzle-orm';
import { TERMINATE_KEY } from '../../core/bus/keys';
import { rowsOf } from '../../core/db/database';
import { type CliCommand, parse, print } from './cli-support';
import { sendToHosts } from './send-to-hosts';

const usage = `Usage: watchtower terminate [--wait]

Asks every running host to terminate gracefully: stop taking jobs, let current jobs finish within
the grace period, then exit. Also sets the seed's watchtower:terminate key for older hosts.

Options:
  --wait      Wait until every host has stopped
  -h, --help  Show this help`;

export const command: CliCommand = {
  name: 'terminate',
  summary: 'Terminate every running host gracefully',
  usage,
  async run(argv) {
    const { values } = parse('terminate', argv, { wait: { type: 'boolean' } });
    if (values.help) {
      print(usage);
      return 0;
    }
    return sendToHosts('host.terminate', {
      // The seed's contract: hosts that only know the key stop too; newer hosts ignore a key
      // older than themselves, so it never stops a host started afterwards.
      before: (bus) => bus.put(TERMINATE_KEY, { at: Date.now() }, 300),
      after: async (db, hosts) => {
        if (!values.wait || hosts.length === 0) return;
        const ids = hosts.map((host) => host.host_id);
        print(`Waiting for ${ids.length} host(s) to stop...`);
        for (;;) {
          const rows = rowsOf<{ n: number }>(
            await db.execute(sql`
              select count(*)::int as n from watchtower_hosts
              where host_id in (${sql.join(
                ids.map((id) => sql`${id}`),
                sql`, `,
              )}) and status not in ('stopped', 'dead')`),
          );
          if (Number(rows[0]?.n ?? 0) === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        print('All hosts stopped.');
      },
    });
  },
};
