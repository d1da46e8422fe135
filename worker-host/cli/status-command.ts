import { type CliCommand, numberOption, parse, print, UsageError } from './cli-support';
import { statusLocal } from './status-local';

const usage = `Usage: watchtower status [--json] [--all]
       watchtower status --local [--json] [--stale-after=seconds]

Shows the hosts, their supervisors and worker processes, from their last heartbeats. Exits 0 when
at least one host is running, 1 when none is (as horizon:status).

With --local: the health of the hosts on this machine, from the health file each writes in its
state directory ($WATCHTOWER_STATE_DIR/health), without Postgres: for a HEALTHCHECK or a liveness
probe. Exits 0 when healthy, 1 when not: no host, a host gone (killed) or stuck (its file not
updated for --stale-after seconds), starting, a supervisor without any running worker process for
10 s, or records being dropped because the spool refuses writes. Postgres being unreachable is
reported but healthy while the recorder spools. One line per host says why.

Options:
  --json              Print JSON instead of a table
  --all               Also show stopped and dead hosts of the last day
  --local             This machine's hosts, from their health files (no Postgres)
  --stale-after=secs  With --local: a health file older than this is a stuck host (default 10)
  -h, --help          Show this help`;

export const command: CliCommand = {
  name: 'status',
  summary: 'Show hosts, supervisors and worker processes',
  usage,
  async run(argv) {
    const { values } = parse('status', argv, {
      json: { type: 'boolean' },
      all: { type: 'boolean' },
      local: { type: 'boolean' },
      'stale-after': { type: 'string' },
    });
    if (values.help) {
      print(usage);
      return 0;
    }
    if (values.local) {
      if (values.all)
        throw new UsageError('--all and --local do not go together: --local is this machine only');
      const staleAfter = numberOption('stale-after', values['stale-after'], 10, { min: 1, max: 3600 });
      return statusLocal({ json: values.json === true, staleAfterMs: staleAfter * 1000 });
    }
    if (values['stale-after'] !== undefined) throw new UsageError('--stale-after goes with --local');
    // Loaded only here: `--local`, run by health checks every few seconds, needs no database client.
    const { statusHosts } = await import('./status-hosts');
    return statusHosts({ json: values.json === true, all: values.all === true });
  },
};
