import type { CommandBus } from '../../core/bus/command-bus';
import type { Database } from '../../core/db/database';
import { openCommandBus } from '../bus/open-command-bus';
import { QueueRegistry } from '../commands/queue-registry';
import { createNodeDatabase } from '../db/node-database';
import { ConnectionHealth } from '../health/connection-health';
import type { HostStatus } from '../heartbeat/heartbeat';
import { type PayloadCapSetting, payloadCapSetting } from '../recorder/payload-cap';
import { createRecorder, type Recorder } from '../recorder/recorder';
import { defaultSpoolDir } from '../recorder/spool-dir';
import { ceilingSetting, ProcessCeiling } from '../supervisor/process-ceiling';
import { DatabaseConfig } from './database-config';
import { DepartedWorkers, workerBeat } from './departed-workers';
import { ErrorLog } from './error-log';
import { healthDir } from './health-file';
import { HealthReporter } from './health-reporter';
import { commandTargets, HostCommands } from './host-commands';
import type { HostControl } from './host-control';
import { HostHeartbeat } from './host-heartbeat';
import type { HostOptions } from './host-options';
import { hostBeat } from './host-report';
import { logLine } from './output';
import { QueueWatchers } from './queue-watchers';
import { SupervisorSet } from './supervisor-set';
import { TerminateKey } from './terminate-key';
import { WorkerCode } from './worker-code';

/** What the parts ask of the host that owns them. */
export interface PartsOwner {
  readonly hostId: string;
  readonly startedAt: Date;
  /** What command handlers act on. */
  readonly control: HostControl;
  /** The host's status as its loop set it: its rows and its workers' say it. */
  status(): HostStatus;
  /** `watchtower terminate`'s key asks this host to terminate: sets the flag the loop acts on. */
  terminate(): void;
}

/**
 * Everything a host opens, wired together: the database, the command bus and its commands, the
 * recorder and its queue watchers, the supervisor set, heartbeats and health checks. The host's
 * loop drives them; the host's start and shutdown open and close them in their order.
 */
export class HostParts {
  readonly log: (line: string) => void;
  readonly errors: ErrorLog;
  /** The most worker processes this host keeps, over all its supervisors. */
  readonly ceiling: ProcessCeiling;
  /** Bytes of data, result and message recorded per job (recorder.maxPayloadBytes; fixed at start). */
  readonly payloadCap: PayloadCapSetting;
  readonly db: Database;
  private readonly closeDb: () => Promise<void>;
  /** The supervisors kept in the database this host runs (database-config.ts). */
  readonly databaseConfig: DatabaseConfig;
  readonly bus: CommandBus;
  readonly queues: QueueRegistry;
  readonly recorder: Recorder;
  /** The connections' health checks, written with the heartbeat (worker-host/health/). */
  readonly connectionHealth: ConnectionHealth;
  readonly departed = new DepartedWorkers();
  readonly heartbeat: HostHeartbeat;
  /** The health file `status --local` reads (health-reporter.ts). */
  readonly health: HealthReporter;
  readonly commands: HostCommands;
  readonly workerCode: WorkerCode;
  readonly watchers: QueueWatchers;
  readonly terminateKey: TerminateKey;
  /** The supervisors the host runs, and the configuration (file and database) they come from. */
  readonly supervisors: SupervisorSet;
  /** Aborted when the host starts terminating (HostControl.stopping). */
  readonly stopping = new AbortController();

  constructor(options: HostOptions, owner: PartsOwner) {
    const env = options.env ?? process.env;
    const config = options.config;
    // Settings that throw come first, before anything is opened.
    this.ceiling = new ProcessCeiling(
      ceilingSetting(config.host.maxWorkerProcesses, env),
      () => this.supervisors.size,
    );
    this.payloadCap = payloadCapSetting(config.recorder.maxPayloadBytes, env);
    this.log = options.log ?? logLine;
    this.errors = new ErrorLog(this.log);
    const note = (what: string, error: unknown) => this.errors.note(what, error);
    const { db, close } = createNodeDatabase(options.databaseUrl, { max: 4 });
    this.db = db;
    this.closeDb = close;
    this.databaseConfig = new DatabaseConfig({
      db,
      databaseUrl: options.databaseUrl,
      labels: options.labels ?? [],
      processorsDir: options.processorsDir,
      env,
      log: this.log,
      note,
      apply: (database) => this.supervisors.applyDatabase(database),
    });
    this.bus = openCommandBus({
      env: options.env,
      databaseUrl: options.databaseUrl,
      db,
      onError: (error) => note('command bus', error),
    }).bus;
    this.queues = new QueueRegistry(config.connections);
    this.recorder = createRecorder({
      db,
      hostId: owner.hostId,
      spoolDir: options.spoolDir ?? defaultSpoolDir(options.env),
      maxPayloadBytes: this.payloadCap.bytes,
      onError: (error) => note('recorder', error),
    });
    this.connectionHealth = new ConnectionHealth({
      connections: config.connections,
      intervalSeconds: config.host.healthInterval,
      log: this.log,
    });
    this.heartbeat = new HostHeartbeat({
      db,
      intervalMs: config.host.heartbeatInterval * 1000,
      deadAfterSeconds: config.host.deadAfter,
      hostBeat: () => hostBeat(this, owner, options),
      workers: () =>
        this.supervisors.all.flatMap((s) => s.workers.map((w) => workerBeat(s, w, owner.status()))),
      departed: this.departed,
      connectionHealth: this.connectionHealth,
      note,
    });
    this.health = new HealthReporter(
      options.healthDir ?? healthDir(options.env),
      {
        hostId: owner.hostId,
        startedAt: owner.startedAt,
        heartbeatIntervalMs: this.heartbeat.health.intervalMs,
      },
      (error) => note('health file', error),
    );
    this.commands = new HostCommands({
      host: owner.control,
      bus: this.bus,
      targets: () =>
        commandTargets(owner.hostId, this.queues.names(), this.supervisors.all, this.departed.ids()),
      intervalMs: config.host.pollInterval * 1000,
      leaseSeconds: config.host.commandLease,
      log: this.log,
      note,
    });
    this.workerCode = new WorkerCode(this.log);
    this.watchers = new QueueWatchers({
      db,
      recorder: this.recorder,
      hostId: owner.hostId,
      payloadCap: this.payloadCap.bytes,
      note,
    });
    this.terminateKey = new TerminateKey({
      bus: this.bus,
      startedAt: owner.startedAt,
      log: this.log,
      note,
      onTerminate: () => owner.terminate(),
    });
    this.supervisors = new SupervisorSet({
      hostId: owner.hostId,
      config,
      only: options.only,
      env,
      payloadCap: this.payloadCap.bytes,
      hooks: {
        spawn: this.workerCode.spawn,
        onMessage: (message) => this.recorder.accept(message),
        // A worker that changed state (came back, stopped) shows within a moment, not a full interval.
        onChange: () => this.heartbeat.request(),
        log: this.log,
      },
      ceiling: this.ceiling,
      workerCode: this.workerCode,
      queues: this.queues,
      connectionHealth: this.connectionHealth,
      databaseConfig: this.databaseConfig,
      watchers: this.watchers,
      requestHeartbeat: () => this.heartbeat.request(),
      log: this.log,
      note,
    });
  }

  /**
   * The start of a graceful stop, once the host is terminating: then its loop waits for the worker
   * processes to exit and calls close(). `finishing` says whether it has come that far.
   */
  terminate(finishing: () => boolean): void {
    const graceSeconds = this.supervisors.graceSeconds;
    this.log(`Terminating: worker processes get ${graceSeconds} s to finish their jobs.`);
    this.stopping.abort();
    // No new commands; the ones running finish and are acknowledged before the bus closes.
    void this.commands.stop().catch((error: unknown) => this.errors.note('command poll', error));
    this.supervisors.terminate(graceSeconds * 1000);
    this.heartbeat.request();
    // Each worker process is killed at the end of its own grace period; this is the last resort
    // if one still lingers (a kill that did not take), so the host always gets to exit.
    setTimeout(
      () => {
        if (finishing()) return;
        this.log('Worker processes did not exit in time; killing them.');
        this.supervisors.killAll();
      },
      graceSeconds * 1000 + 10_000,
    ).unref();
  }

  /**
   * Closes everything in the order a graceful stop needs, once the worker processes are gone: no
   * more commands, the ones running finish and are acknowledged; `stopped` is called then, before
   * the last flush of the recorder and the last beat (which says the host stopped), and the
   * connections close last.
   */
  async close(stopped: () => void): Promise<void> {
    await this.commands.stop().catch(() => undefined);
    await this.databaseConfig.stop();
    await this.commands.drain();
    stopped();
    await this.watchers.close();
    await this.recorder.close().catch((error: unknown) => this.errors.note('recorder', error));
    await this.heartbeat.now();
    await this.queues.close();
    await this.connectionHealth.close();
    await this.bus.close().catch(() => undefined);
    await this.closeDb().catch(() => undefined);
  }

  /** Closes what the constructor opened, for a host whose start() failed (see Host.discard). */
  async discard(): Promise<void> {
    await this.commands.stop().catch(() => undefined);
    await this.watchers.close().catch(() => undefined);
    await this.recorder.close().catch(() => undefined);
    await this.queues.close().catch(() => undefined);
    await this.bus.close().catch(() => undefined);
    await this.closeDb().catch(() => undefined);
  }
}
