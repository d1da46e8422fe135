/**
 * `watchtower`: the worker-host's command line (the seed's Artisan commands). Each command lives
 * in cli/ and is loaded only when run, so a worker process does not load what the supervisor needs.
 */
import { EXIT_USAGE, print, printError } from './cli/cli-support';
import { guardOutput } from './host/output';

// Before anything writes: a closed stdout or stderr must never become an uncaught exception, in
// the host or in a worker process (whose output goes to the same place).
guardOutput();

interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: { run(argv: string[]): Promise<number> } }>;
}

const commands: Record<string, CommandEntry> = {
  supervisor: {
    summary: "Run this machine's host: supervisors, worker processes, commands, heartbeats",
    load: () => import('./cli/supervisor-command'),
  },
  worker: { summary: 'Run one worker process on a queue', load: () => import('./cli/worker-command') },
  prune: { summary: 'Delete old job records from Postgres', load: () => import('./cli/prune-command') },
  restart: {
    summary: 'Restart the worker processes of every running host',
    load: () => import('./cli/restart-command'),
  },
  terminate: {
    summary: 'Terminate every running host gracefully',
    load: () => import('./cli/terminate-command'),
  },
  status: {
    summary: "Show hosts, supervisors and worker processes (--local: this machine's health)",
    load: () => import('./cli/status-command'),
  },
  migrate: { summary: "Apply Watchtower's database migrations", load: () => import('./cli/migrate-command') },
  keys: {
    summary: 'Rotate the key that seals connection secrets (keys rotate)',
    load: () => import('./cli/keys-command'),
  },
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'Usage: watchtower <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`),
    '',
    'Run `watchtower <command> --help` for the options of one command.',
    '',
    "Environment: DATABASE_URL (Watchtower's Postgres), WATCHTOWER_CONFIG (configuration file),",
    'WATCHTOWER_COMMAND_BUS=database|redis (+ WATCHTOWER_BUS_REDIS_URL or REDIS_URL for redis),',
    'REDIS_URL + WATCHTOWER_QUEUES + WATCHTOWER_PROCESSOR (a configuration without a file).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    print(help());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    printError(`Unknown command "${name}".\n\n${help()}`);
    return EXIT_USAGE;
  }
  const { command } = await entry.load();
  return command.run(rest);
}

// Long-running commands (supervisor, worker) resolve when they are done; every command closes
// what it opened, and the exit makes sure a stray handle (a reconnecting client) cannot hold on.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // By name: importing the configuration loader here would load it into every worker process.
    const name = error instanceof Error ? error.name : '';
    if (name === 'UsageError' || name === 'ConfigError' || name === 'BusConfigError') {
      printError((error as Error).message);
      process.exit(EXIT_USAGE);
    }
    printError(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
