import { randomUUID } from 'node:crypto';
// Only what a worker process needs, statically: the configuration's loader (zod) and the database
// and bus clients load on demand, so a worker process started by a supervisor never holds them.
import { ConfigError } from '../config/config-error';
import { PAYLOAD_CAP_RANGE, parsePayloadCap, payloadCapSetting } from '../recorder/payload-cap';
import { CONNECTION_URL_ENV } from '../worker/ipc-messages';
import { runWorker, type WorkerRunOptions } from '../worker/run-worker';
import { type CliCommand, numberOption, parse, print, printError, UsageError } from './cli-support';

const usage = `Usage: watchtower worker [queue] [options]

Runs one worker process: a BullMQ Worker on the queue with its processor. A supervisor starts these
itself; run it by hand to try a processor. Standalone, it records job events to DATABASE_URL when
that is set.

Options:
  --worker-id=id       Worker id (default: a new uuid)
  --tries=n            Runs of a job that does not set attempts itself (default from the configuration, else 1)
  --timeout=seconds    A job running longer fails as timed out; 0 for no limit (default 60)
  --memory=megabytes   Restart between jobs above this RSS; 0 for no limit (default 512)
  --sleep=seconds      Wait for a job on an empty queue before asking again (default 3)
  --rest=seconds       Rest after each job (default 0)
  --lock-duration=n    Seconds a running job's lock lasts; it counts as stalled once it runs out (default 30)
  --stalled-interval=n Seconds between two checks for stalled jobs (default 30)
  --concurrency=n      Jobs at once (default 1)
  --max-payload-bytes=n  Bytes of a job's data, result and message recorded; more is stored cut and
                       flagged (default recorder.maxPayloadBytes, else $WATCHTOWER_MAX_PAYLOAD_BYTES,
                       else 16384; at most 8388608)
  --connection=name    Connection of the configuration (default: the one of the queue's supervisor)
  --config=path        Configuration file (default $WATCHTOWER_CONFIG)
  --processor=path     Processor module (default: processors[queue] of the configuration)
  -h, --help           Show this help`;

export const command: CliCommand = {
  name: 'worker',
  summary: 'Run one worker process on a queue',
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      'worker',
      argv,
      {
        'worker-id': { type: 'string' },
        tries: { type: 'string' },
        timeout: { type: 'string' },
        memory: { type: 'string' },
        sleep: { type: 'string' },
        rest: { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        concurrency: { type: 'string' },
        'max-payload-bytes': { type: 'string' },
        connection: { type: 'string' },
        config: { type: 'string' },
        processor: { type: 'string' },
        // Set by the supervisor that starts this process.
        supervisor: { type: 'string' },
        'host-id': { type: 'string' },
        grace: { type: 'string' },
        paused: { type: 'boolean' },
      },
      true,
    );
    if (values.help) {
      print(usage);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`worker takes one queue, got ${positionals.join(' ')}`);
    let queue = positionals[0];
    const fromSupervisor = process.env[CONNECTION_URL_ENV];

    let connectionUrl = fromSupervisor;
    let connection = values.connection;
    let processorPath = values.processor;
    let configuredCap: number | undefined;
    let defaults = {
      tries: 1,
      timeout: 60,
      memory: 512,
      sleep: 3,
      rest: 0,
      concurrency: 1,
      lockDuration: 30,
      stalledInterval: 30,
    };
    if (!connectionUrl || !processorPath || !queue) {
      // By hand: the configuration says where the queue lives and what runs its jobs.
      const { loadConfig } = await import('../config/load-config');
      const config = await loadConfig({ path: values.config });
      configuredCap = config.recorder.maxPayloadBytes;
      if (!queue) {
        const queues = [...new Set(config.supervisors.flatMap((s) => s.queues))];
        if (queues.length !== 1) {
          throw new UsageError(
            `Name the queue: watchtower worker <queue> (configured: ${queues.join(', ') || 'none'})`,
          );
        }
        queue = queues[0]!;
      }
      const supervisor = config.supervisors.find(
        (s) => s.queues.includes(queue!) && (!connection || s.connection === connection),
      );
      connection ??= supervisor?.connection ?? 'default';
      connectionUrl ??= config.connections[connection]?.url;
      if (!connectionUrl) {
        throw new UsageError(`The configuration has no connection "${connection}" for queue ${queue}`);
      }
      processorPath ??= config.processors[queue] ?? config.processors['*'];
      if (!processorPath) throw new UsageError(`The configuration has no processor for queue ${queue}`);
      if (supervisor) {
        const { tries, timeout, memory, sleep, rest, concurrency, lockDuration, stalledInterval } =
          supervisor;
        defaults = { tries, timeout, memory, sleep, rest, concurrency, lockDuration, stalledInterval };
      }
    }

    const options: WorkerRunOptions = {
      workerId: values['worker-id'] ?? randomUUID(),
      hostId: values['host-id'] ?? `standalone-${process.pid}`,
      supervisor: values.supervisor ?? 'standalone',
      connection: connection ?? 'default',
      connectionUrl,
      queue,
      processorPath,
      concurrency: numberOption('concurrency', values.concurrency, defaults.concurrency, {
        min: 1,
        max: 1000,
        integer: true,
      }),
      tries: numberOption('tries', values.tries, defaults.tries, { min: 1, max: 1000, integer: true }),
      timeout: numberOption('timeout', values.timeout, defaults.timeout, { max: 86_400 }),
      memory: numberOption('memory', values.memory, defaults.memory, { max: 1_000_000 }),
      sleep: numberOption('sleep', values.sleep, defaults.sleep, { max: 300 }),
      rest: numberOption('rest', values.rest, defaults.rest, { max: 3600 }),
      lockDuration: numberOption('lock-duration', values['lock-duration'], defaults.lockDuration, {
        min: 1,
        max: 3600,
      }),
      stalledInterval: numberOption(
        'stalled-interval',
        values['stalled-interval'],
        defaults.stalledInterval,
        {
          min: 1,
          max: 3600,
        },
      ),
      graceSeconds: numberOption('grace', values.grace, 30, { max: 3600 }),
      payloadCap: payloadCapOption(values['max-payload-bytes'], configuredCap),
      paused: values.paused === true,
    };

    if (fromSupervisor) return runWorker(options);
    return runStandalone(options);
  },
};

/**
 * --max-payload-bytes (a supervisor always passes its own), else the configuration's, else the
 * variable's: worker processes under a supervisor never see WATCHTOWER_* variables (worker-env.ts).
 */
function payloadCapOption(given: string | undefined, configured: number | undefined): number {
  if (given === undefined) return payloadCapSetting(configured, process.env).bytes;
  try {
    return parsePayloadCap(given.trim(), '--max-payload-bytes');
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw new UsageError(`--max-payload-bytes must be ${PAYLOAD_CAP_RANGE}`);
  }
}

/** By hand there is no supervisor to record job events: a recorder runs in this process instead. */
async function runStandalone(options: WorkerRunOptions): Promise<number> {
  const url = process.env.DATABASE_URL?.trim();
  if (!url) {
    printError('DATABASE_URL is not set: job events of this worker are not recorded.');
    return runWorker(options);
  }
  const [{ createNodeDatabase }, { createRecorder }, { checkSpoolDir, defaultSpoolDir }] = await Promise.all([
    import('../db/node-database'),
    import('../recorder/recorder'),
    import('../recorder/spool-dir'),
  ]);
  // As for a supervisor: what the spool holds is replayed into Postgres (supervisor-command.ts).
  const spoolDir = defaultSpoolDir();
  const problem = await checkSpoolDir(spoolDir);
  if (problem) throw new UsageError(problem);
  const database = createNodeDatabase(url, { max: 2 });
  const recorder = createRecorder({
    db: database.db,
    hostId: options.hostId,
    spoolDir,
    maxPayloadBytes: options.payloadCap,
  });
  try {
    return await runWorker({ ...options, send: (message) => recorder.accept(message) });
  } finally {
    await recorder.close().catch(() => undefined);
    await database.close().catch(() => undefined);
  }
}
