import { parseLabels } from '../../core/config/supervisor-fields';
import { checkProcessorsDir } from '../config/database-supervisors';
import { configPath, loadConfig } from '../config/load-config';
import { Host } from '../host/host';
import { reportUncaught } from '../host/output';
import { checkSpoolDir, defaultSpoolDir, leftInOldDefault } from '../recorder/spool-dir';
import { type CliCommand, databaseUrl, parse, print, printError, UsageError } from './cli-support';

const usage = `Usage: watchtower supervisor [--supervisor=name] [--config=path]

Runs this machine's host: the configured supervisors and their worker processes, the command
poller, heartbeats and the recorder. Runs until terminated.

Options:
  --supervisor=name  Run only this supervisor of the configuration
  --config=path      Configuration file (.js, .mjs, .ts or .json); default $WATCHTOWER_CONFIG,
                     else REDIS_URL + WATCHTOWER_QUEUES + WATCHTOWER_PROCESSOR
  --labels=a,b       This host's labels (default $WATCHTOWER_HOST_LABELS): it runs the
                     supervisors kept in the database whose selector they satisfy
  --processors-dir=path
                     The only directory database supervisors' processors may come from
                     (default $WATCHTOWER_PROCESSORS_DIR); without it, no database supervisor runs
  -h, --help         Show this help

Signals: SIGTERM or Ctrl-C terminate gracefully (a second Ctrl-C kills the worker processes),
SIGUSR1 restarts the worker processes, SIGUSR2 pauses them, SIGCONT continues them.`;

export const command: CliCommand = {
  name: 'supervisor',
  summary: "Run this machine's host",
  usage,
  async run(argv) {
    const { values } = parse('supervisor', argv, {
      supervisor: { type: 'string' },
      config: { type: 'string' },
      labels: { type: 'string' },
      'processors-dir': { type: 'string' },
    });
    if (values.help) {
      print(usage);
      return 0;
    }
    let labels: string[];
    try {
      labels = parseLabels(values.labels ?? process.env.WATCHTOWER_HOST_LABELS);
    } catch (error) {
      throw new UsageError(`--labels (or WATCHTOWER_HOST_LABELS): ${(error as Error).message}`);
    }
    const dirOption =
      values['processors-dir'] ?? (process.env.WATCHTOWER_PROCESSORS_DIR?.trim() || undefined);
    let processorsDir: string | undefined;
    if (dirOption !== undefined) {
      try {
        processorsDir = await checkProcessorsDir(dirOption);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }
    const path = configPath({ path: values.config });
    const config = await loadConfig({ path });
    const only = values.supervisor;
    if (only !== undefined && !config.supervisors.some((s) => s.name === only)) {
      const names = config.supervisors.map((s) => s.name);
      throw new UsageError(
        `--supervisor=${only}: the configuration has no supervisor of that name (it has: ${names.join(', ') || 'none'})`,
      );
    }
    // A host that runs database supervisors may have none in its file.
    if (config.supervisors.length === 0 && processorsDir === undefined) {
      throw new UsageError(`The configuration (${config.source}) has no supervisors: nothing to run`);
    }
    const url = databaseUrl();
    // Records wait in the spool while Postgres is away, and whatever is found there is replayed
    // into Postgres: a directory others can write is refused before anything starts.
    const spoolDir = defaultSpoolDir();
    const problem = await checkSpoolDir(spoolDir);
    if (problem) throw new UsageError(problem);
    const left = await leftInOldDefault(spoolDir);
    if (left) printError(left);
    const host = new Host({
      config,
      configPath: path,
      databaseUrl: url,
      only,
      spoolDir,
      labels,
      processorsDir,
    });

    // Handlers only set flags; the host's loop acts on them. A second Ctrl-C forces.
    let interrupts = 0;
    process.on('SIGINT', () => host.signal(++interrupts > 1 ? 'force' : 'terminate'));
    process.on('SIGTERM', () => host.signal('terminate'));
    process.on('SIGUSR1', () => host.signal('restart'));
    process.on('SIGUSR2', () => host.signal('pause'));
    process.on('SIGCONT', () => host.signal('continue'));
    // The host outlives a bug in one of its parts: report it and carry on. The report cannot
    // fail, so it can never raise the next uncaught error itself (see host/output.ts).
    process.on('uncaughtException', (error) => reportUncaught('Uncaught', error));
    process.on('unhandledRejection', (reason) => reportUncaught('Unhandled rejection', reason));

    await host.start();
    return host.done;
  },
};
