import { hostname } from 'node:os';
import type { ClaimedCommand, CommandBus, CommandTarget } from '../../core/bus/command-bus';
import { CommandExecutor } from '../../core/bus/command-executor';
import { TERMINATE_KEY } from '../../core/bus/keys';
import { CURRENT_KEY_VARIABLE } from '../../core/crypto/sealed-secrets';
import type { Database } from '../../core/db/database';
import { CommandPoller, ttlEnded } from '../bus/command-poller';
import { openCommandBus } from '../bus/open-command-bus';
import { handleCommand } from '../commands/handle-command';
import { QueueRegistry } from '../commands/queue-registry';
import type { SupervisorConfig, WatchtowerConfig } from '../config/config-schema';
import type { DatabaseSupervisors } from '../config/database-supervisors';
import { ConfigError, loadConfig } from '../config/load-config';
import { allProcessors, mergeConfig, processorFor } from '../config/merge-config';
import { createNodeDatabase } from '../db/node-database';
import { ConnectionHealth } from '../health/connection-health';
import {
  type HostBeat,
  type HostStatus,
  nextBeatDue,
  type WorkerBeat,
  writeHeartbeat,
} from '../heartbeat/heartbeat';
import { type PayloadCapSetting, payloadCapSetting } from '../recorder/payload-cap';
import { type QueueWatcher, watchQueues } from '../recorder/queue-watcher';
import { createRecorder, type Recorder } from '../recorder/recorder';
import { defaultSpoolDir } from '../recorder/spool-dir';
import { stopCompiler } from '../supervisor/compile-module';
import { ceilingSetting, ProcessCeiling } from '../supervisor/process-ceiling';
import { compileProcessors } from '../supervisor/processor-build';
import { spawnWorker } from '../supervisor/spawn-worker';
import { initialSizes, Supervisor } from '../supervisor/supervisor';
import { buildWorkerEntry } from '../supervisor/worker-entry';
import type { WorkerProcess, WorkerProcessHooks } from '../supervisor/worker-process';
import { backendKind } from '../worker/queue-backend';
import { DatabaseConfig } from './database-config';
import { healthDir } from './health-file';
import { type HealthInput, HealthReporter, rootMessage } from './health-reporter';
import type { HostControl, ReloadResult } from './host-control';
import { newHostId, packageVersion } from './host-id';
import { logLine, outputStats } from './output';

export interface HostOptions {
  config: WatchtowerConfig;
  /** The file to read again on `host.reload` (undefined: the environment's configuration). */
  configPath: string | undefined;
  /** Reads the configuration again on `host.reload`, instead of `configPath` (startHost's object). */
  reloadConfig?: (() => Promise<WatchtowerConfig>) | undefined;
  databaseUrl: string;
  env?: NodeJS.ProcessEnv;
  /** Run only this supervisor of the configuration (`watchtower supervisor --supervisor=name`). */
  only?: string;
  /** The recorder's spool directory, checked by the caller (spool-dir.ts); default from `env`. */
  spoolDir?: string;
  /** Where the host writes its health file for `status --local` (health-file.ts); default from `env`. */
  healthDir?: string;
  log?: (line: string) => void;
  /** This host's labels (`--labels`): it runs the database supervisors whose selector they satisfy. */
  labels?: string[];
  /**
   * The directory database supervisors' processors must be in (`--processors-dir`), resolved by
   * realpath. Without it the host runs no database supervisor.
   */
  processorsDir?: string;
}

const TICK_MS = 200;
/** How long a host keeps answering commands for a worker it let go of. */
const DEPARTED_RETENTION_MS = 30 * 60_000;
const DEPARTED_MAX = 1000;
/** The seed's `watchtower:terminate` key is read this often (not every poll: one bus read per poll). */
const SEED_TERMINATE_EVERY_MS = 30_000;

/**
 * One worker-host: Horizon's master supervisor. It runs the configured supervisors and their
 * process pools, claims and carries out the commands of all its targets (one bus read per poll,
 * woken by push), writes one heartbeat per interval for itself and all its workers, and feeds the
 * recorder with its worker processes' job events.
 *
 * Its loop never dies: every step is guarded, and signal handlers only set flags the loop reads.
 */
export class Host implements HostControl {
  readonly hostId = newHostId();
  readonly startedAt = new Date();
  readonly db: Database;
  readonly bus: CommandBus;
  readonly queues: QueueRegistry;
  private readonly closeDb: () => Promise<void>;
  private readonly recorder: Recorder;
  private watchers: QueueWatcher[] = [];
  private readonly poller: CommandPoller;
  private readonly executor: CommandExecutor;
  private readonly log: (line: string) => void;
  private readonly stopController = new AbortController();
  private config: WatchtowerConfig;
  /** The configuration file as last read; `config` is it merged with `database`. */
  private fileConfig: WatchtowerConfig;
  /** The supervisors kept in the database this host runs (database-config.ts). */
  private readonly databaseConfig: DatabaseConfig;
  /** Reloads, from the file or the database, one at a time. */
  private applying: Promise<unknown> = Promise.resolve();
  private list: Supervisor[] = [];
  private readonly departed = new Map<string, { at: Date; status: string }>();
  private departedRows: WorkerBeat[] = [];
  private readonly chains = new Map<string, Promise<void>>();
  private readonly flags = { terminate: false, force: false, restart: false, pause: false, continue: false };
  private status: HostStatus = 'running';
  private graceSeconds: number;
  /** Seconds a claimed command stays this host's without renewal (host.commandLease; fixed at start). */
  private readonly leaseSeconds: number;
  private loopTimer: ReturnType<typeof setInterval> | undefined;
  private beating: Promise<void> | undefined;
  private nextBeatAt = 0;
  private lastBeatAt = 0;
  private lastSeedCheck = 0;
  private checkingSeed = false;
  private seedBaseline: string | undefined;
  private finishing: Promise<void> | undefined;
  private resolveDone: (code: number) => void = () => undefined;
  readonly done: Promise<number>;
  private readonly counters = { heartbeats: 0, heartbeatErrors: 0, commands: 0, commandErrors: 0 };
  private lastError: string | undefined;
  /** The health file `status --local` reads (health-reporter.ts), and what it says of heartbeats. */
  private readonly health: HealthReporter;
  private readonly heartbeatHealth: HealthInput['heartbeat'];
  private readonly hooks: WorkerProcessHooks;
  /** The most worker processes this host keeps, over all its supervisors. */
  private readonly ceiling: ProcessCeiling;
  /** The compiled CLI worker processes run from (undefined: the sources, through tsx). */
  private workerEntry: string | undefined;
  /** TypeScript processors compiled for the worker processes (processor-build.ts): source → file. */
  private compiledProcessors = new Map<string, string>();
  /** Bytes of data, result and message recorded per job (recorder.maxPayloadBytes; fixed at start). */
  readonly payloadCap: PayloadCapSetting;
  /** The connections' health checks, written with the heartbeat (worker-host/health/). */
  private readonly connectionHealth: ConnectionHealth;

  constructor(private readonly options: HostOptions) {
    this.ceiling = new ProcessCeiling(
      ceilingSetting(options.config.host.maxWorkerProcesses, options.env ?? process.env),
      () => this.list.reduce((n, supervisor) => n + supervisor.size, 0),
    );
    this.payloadCap = payloadCapSetting(options.config.recorder.maxPayloadBytes, options.env ?? process.env);
    this.config = options.config;
    this.fileConfig = options.config;
    this.graceSeconds = options.config.host.gracePeriod;
    this.leaseSeconds = options.config.host.commandLease;
    this.log = options.log ?? logLine;
    const { db, close } = createNodeDatabase(options.databaseUrl, { max: 4 });
    this.db = db;
    this.closeDb = close;
    this.databaseConfig = new DatabaseConfig({
      db: this.db,
      databaseUrl: options.databaseUrl,
      labels: options.labels ?? [],
      processorsDir: options.processorsDir,
      env: options.env ?? process.env,
      log: this.log,
      note: (what, error) => this.note(what, error),
      apply: (database) => this.serialized(() => this.apply(this.fileConfig, database)),
    });
    this.bus = openCommandBus({
      env: options.env,
      databaseUrl: options.databaseUrl,
      db,
      onError: (error) => this.note('command bus', error),
    }).bus;
    this.queues = new QueueRegistry(this.config.connections);
    this.recorder = createRecorder({
      db,
      hostId: this.hostId,
      spoolDir: options.spoolDir ?? defaultSpoolDir(options.env),
      maxPayloadBytes: this.payloadCap.bytes,
      onError: (error) => this.note('recorder', error),
    });
    this.connectionHealth = new ConnectionHealth({
      connections: this.config.connections,
      intervalSeconds: this.config.host.healthInterval,
      log: this.log,
    });
    this.heartbeatHealth = {
      intervalMs: this.config.host.heartbeatInterval * 1000,
      lastOkAt: null,
      lastFailedAt: null,
      lastError: null,
    };
    this.health = new HealthReporter(
      options.healthDir ?? healthDir(options.env),
      {
        hostId: this.hostId,
        startedAt: this.startedAt,
        heartbeatIntervalMs: this.heartbeatHealth.intervalMs,
      },
      (error) => this.note('health file', error),
    );
    this.executor = new CommandExecutor(this.bus, (command) => handleCommand(this, command));
    this.poller = new CommandPoller(this.bus, {
      claimer: this.hostId,
      targets: () => this.targets(),
      intervalMs: this.config.host.pollInterval * 1000,
      leaseSeconds: this.leaseSeconds,
      // One command of a target at a time: see dispatch().
      perTarget: 1,
      onCommands: async (commands) => this.dispatch(commands),
      onError: (error) => this.note('command poll', error),
    });
    this.hooks = {
      spawn: (spec, workerId, options) =>
        spawnWorker(
          { ...spec, processorPath: this.compiledProcessors.get(spec.processorPath) ?? spec.processorPath },
          workerId,
          { ...options, entry: this.workerEntry },
        ),
      onMessage: (message) => this.recorder.accept(message),
      // A worker that changed state (came back, stopped) shows within a moment, not a full interval.
      onChange: () => this.requestHeartbeat(),
      log: this.log,
    };
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  get stopping(): AbortSignal {
    return this.stopController.signal;
  }

  async start(): Promise<void> {
    const database = await this.databaseConfig.start(this.fileConfig);
    if (database) {
      const merged = mergeConfig(this.fileConfig, database);
      for (const clash of merged.clashes) this.log(clash);
      this.config = merged.config;
      await this.queues.setConnections(this.config.connections);
    }
    const needed = sum(this.selected(this.config).map(startSize));
    if (needed > this.ceiling.limit) {
      throw new ConfigError(
        `The configuration starts ${needed} worker processes, more than this host keeps: at most ${this.ceiling.limit} (${this.ceiling.setting.source})`,
      );
    }
    await this.health.starting();
    try {
      await this.startParts();
    } catch (error) {
      // A host that never ran leaves no file saying it is starting.
      await this.health.stop();
      throw error;
    }
  }

  private async startParts(): Promise<void> {
    const entry = await buildWorkerEntry();
    this.workerEntry = entry.path;
    if (entry.path === undefined) {
      this.log(
        `worker processes run from the TypeScript sources: the compiled entry could not be made (${entry.error})`,
      );
    }
    if (entry.path !== undefined) {
      this.compiledProcessors = await compileProcessors(allProcessors(this.config), this.log);
    }
    await stopCompiler();
    for (const config of this.selected(this.config)) this.addSupervisor(config);
    this.startWatchers();
    // The first heartbeat registers the host before it claims anything, so `status` and the
    // dashboard know it by the time it answers its first command.
    await this.beat();
    await this.poller.start();
    this.loopTimer = setInterval(() => this.tick(), TICK_MS);
    this.log(
      `Watchtower host ${this.hostId} started: ${this.list.map((s) => `${s.name} (${s.config.queues.join(', ')})`).join('; ') || 'no supervisors'}`,
    );
  }

  /**
   * Closes what the constructor opened, for a host whose start() failed: an embedding application
   * (startHost) carries on, so nothing may be left holding its event loop or connections.
   */
  async discard(): Promise<void> {
    clearInterval(this.loopTimer);
    await this.poller.stop().catch(() => undefined);
    await this.closeWatchers().catch(() => undefined);
    await this.recorder.close().catch(() => undefined);
    await this.queues.close().catch(() => undefined);
    await this.bus.close().catch(() => undefined);
    await this.closeDb().catch(() => undefined);
  }

  /** Signal handlers call this: it only sets flags; the loop acts on them. */
  signal(name: 'terminate' | 'force' | 'restart' | 'pause' | 'continue'): void {
    this.flags[name] = true;
  }

  // ---- HostControl ------------------------------------------------------------------------

  supervisors(): Supervisor[] {
    return this.list.filter((s) => s.status !== 'terminated');
  }

  findSupervisor(name: string): Supervisor | undefined {
    return this.list.find((s) => s.name === name && s.status !== 'terminating' && s.status !== 'terminated');
  }

  findWorker(workerId: string) {
    for (const supervisor of this.list) {
      const worker = supervisor.findWorker(workerId);
      if (worker) return { worker, supervisor };
    }
    return undefined;
  }

  departedWorker(workerId: string) {
    return this.departed.get(workerId);
  }

  restartWorkers(): number {
    let count = 0;
    for (const supervisor of this.supervisors()) {
      supervisor.restart();
      count += supervisor.workers.length;
    }
    return count;
  }

  requestTerminate(graceSeconds?: number): void {
    if (graceSeconds !== undefined) this.graceSeconds = graceSeconds;
    this.flags.terminate = true;
  }

  async heartbeatNow(): Promise<void> {
    // A beat in flight may have read the state before the change: wait for it, then write again.
    if (this.beating) await this.beating;
    await this.beat();
  }

  requestHeartbeat(): void {
    // Soon, but never more than one extra write per 250 ms however many changes ask for one.
    this.nextBeatAt = Math.min(this.nextBeatAt, Math.max(Date.now() + 50, this.lastBeatAt + 250));
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const next = this.applying.then(step, step);
    this.applying = next.catch(() => undefined);
    return next;
  }

  async reload(): Promise<ReloadResult> {
    const file = this.options.reloadConfig
      ? await this.options.reloadConfig()
      : await loadConfig({ path: this.options.configPath, env: this.options.env });
    return this.serialized(() => this.apply(file, this.databaseConfig.current));
  }

  /** Runs the file's configuration merged with the database's: starts, drains and restarts supervisors. */
  private async apply(
    file: WatchtowerConfig,
    database: DatabaseSupervisors | undefined,
  ): Promise<ReloadResult> {
    const merged = mergeConfig(file, database);
    for (const clash of merged.clashes) this.note('configuration', new Error(clash));
    const next = merged.config;
    const before = new Map(this.supervisors().map((s) => [s.name, s]));
    const wanted = new Map(this.selected(next).map((c) => [c.name, c]));
    const result: ReloadResult = {
      added: [],
      removed: [],
      restarted: [],
      resized: [],
      unchanged: [],
      needsHostRestart: [],
    };
    for (const key of ['heartbeatInterval', 'pollInterval', 'deadAfter', 'commandLease'] as const) {
      if (next.host[key] !== this.config.host[key]) result.needsHostRestart.push(`host.${key}`);
    }
    // The health checks keep the interval they started with; their connections follow the reload.
    if (next.host.healthInterval !== this.config.host.healthInterval) {
      result.needsHostRestart.push('host.healthInterval');
    }
    // The recorder, the watchers and every worker process share the cap they started with.
    const nextCap = payloadCapSetting(next.recorder.maxPayloadBytes, this.options.env ?? process.env);
    if (nextCap.bytes !== this.payloadCap.bytes) result.needsHostRestart.push('recorder.maxPayloadBytes');
    // Refused before anything changes when the new configuration needs more processes than fit.
    const ceiling = ceilingSetting(next.host.maxWorkerProcesses, this.options.env ?? process.env);
    const kept = (config: SupervisorConfig) => {
      const running = before.get(config.name);
      return running && fingerprint(this.config, running.config) === fingerprint(next, config)
        ? running
        : undefined;
    };
    const needed = sum([...wanted.values()].map((config) => kept(config)?.size ?? startSize(config)));
    if (needed > ceiling.limit) {
      throw new Error(
        `the new configuration needs ${needed} worker processes, more than this host keeps: at most ${ceiling.limit} (${ceiling.source}); nothing was changed`,
      );
    }
    this.ceiling.setting = ceiling;
    // Compiled again, so an edited TypeScript processor reaches the processes started from now on.
    if (this.workerEntry !== undefined) {
      this.compiledProcessors = await compileProcessors(allProcessors(next), this.log);
      await stopCompiler();
    }
    const previous = this.config;
    this.config = next;
    this.fileConfig = file;
    this.databaseConfig.current = database;
    this.graceSeconds = next.host.gracePeriod;
    await this.queues.setConnections(next.connections);
    this.connectionHealth.setConnections(next.connections);
    for (const [name, supervisor] of before) {
      const config = wanted.get(name);
      if (!config) {
        supervisor.terminate();
        result.removed.push(name);
      } else if (
        fingerprint(previous, supervisor.config) !== fingerprint(next, config) &&
        fingerprint(previous, supervisor.config, { sizes: false }) ===
          fingerprint(next, config, { sizes: false })
      ) {
        // Only the process bounds changed: the pools resize in place, keeping their processes.
        supervisor.resize(config);
        result.resized.push(name);
      } else if (fingerprint(previous, supervisor.config) !== fingerprint(next, config)) {
        // Changed settings need fresh processes: the old supervisor finishes its jobs while the
        // new one starts, so the queue is never left without workers.
        supervisor.terminate();
        this.addSupervisor(config);
        result.restarted.push(name);
      } else {
        result.unchanged.push(name);
      }
    }
    for (const [name, config] of wanted) {
      if (!before.has(name)) {
        this.addSupervisor(config);
        result.added.push(name);
      }
    }
    if (result.added.length || result.removed.length || result.restarted.length) {
      await this.closeWatchers();
      this.startWatchers();
    }
    this.requestHeartbeat();
    this.log(
      `Configuration reloaded${database ? ` (database configuration version ${database.version})` : ''}: ${JSON.stringify(result)}`,
    );
    return result;
  }

  // ---- the loop ---------------------------------------------------------------------------

  private tick(): void {
    try {
      this.readFlags();
      const now = Date.now();
      for (const supervisor of this.list) {
        try {
          supervisor.monitor(now);
          this.collectDeparted(supervisor);
          void supervisor
            .balance(now)
            .catch((error: unknown) => this.note(`balance ${supervisor.name}`, error));
        } catch (error) {
          this.note(`supervisor ${supervisor.name}`, error);
        }
      }
      // Terminated supervisors leave once their last rows are written.
      if (this.list.some((s) => s.status === 'terminated')) {
        this.list = this.list.filter((s) => s.status !== 'terminated');
        this.requestHeartbeat();
      }
      this.pruneDeparted(now);
      if (this.status !== 'stopped') this.connectionHealth.tick(now);
      if (now >= this.nextBeatAt && !this.beating && !this.finishing) void this.beat();
      if (now - this.lastSeedCheck >= SEED_TERMINATE_EVERY_MS) void this.checkSeedTerminate(now);
      this.databaseConfig.tick(now, this.status === 'terminating');
      // Written from this loop, so a fresh file says the loop turns (a stuck one leaves it stale).
      this.health.tick(now, () => this.healthInput());
      if (this.status === 'terminating' && this.list.length === 0 && !this.finishing) {
        this.finishing = this.finish();
      }
    } catch (error) {
      this.note('host loop', error);
    }
  }

  private readFlags(): void {
    const flags = this.flags;
    if (flags.force) {
      flags.force = false;
      this.log('Second interrupt: killing worker processes now.');
      for (const supervisor of this.list) supervisor.killAll();
      flags.terminate = true;
    }
    if (flags.terminate) {
      flags.terminate = false;
      this.beginTerminate();
    }
    if (this.status === 'terminating') return;
    if (flags.restart) {
      flags.restart = false;
      this.log(`Restarting ${this.restartWorkers()} worker processes.`);
    }
    if (flags.pause) {
      flags.pause = false;
      for (const supervisor of this.supervisors()) supervisor.pause();
      this.status = 'paused';
      this.requestHeartbeat();
    }
    if (flags.continue) {
      flags.continue = false;
      for (const supervisor of this.supervisors()) supervisor.continue();
      this.status = 'running';
      this.requestHeartbeat();
    }
  }

  private beginTerminate(): void {
    if (this.status === 'terminating') return;
    this.status = 'terminating';
    this.log(`Terminating: worker processes get ${this.graceSeconds} s to finish their jobs.`);
    this.stopController.abort();
    // No new commands; the ones running finish and are acknowledged before the bus closes.
    void this.poller.stop().catch((error: unknown) => this.note('command poll', error));
    for (const supervisor of this.list) supervisor.terminate(this.graceSeconds * 1000);
    this.requestHeartbeat();
    // Each worker process is killed at the end of its own grace period; this is the last resort
    // if one still lingers (a kill that did not take), so the host always gets to exit.
    setTimeout(
      () => {
        if (this.finishing) return;
        this.log('Worker processes did not exit in time; killing them.');
        for (const supervisor of this.list) supervisor.killAll();
      },
      this.graceSeconds * 1000 + 10_000,
    ).unref();
  }

  private async finish(): Promise<void> {
    try {
      await this.poller.stop().catch(() => undefined);
      await this.databaseConfig.stop();
      await Promise.all([...this.chains.values()]);
      this.status = 'stopped';
      await this.closeWatchers();
      await this.recorder.close().catch((error: unknown) => this.note('recorder', error));
      if (this.beating) await this.beating;
      await this.beat();
      await this.queues.close();
      await this.connectionHealth.close();
      await this.bus.close().catch(() => undefined);
      await this.closeDb().catch(() => undefined);
    } catch (error) {
      this.note('shutdown', error);
    } finally {
      clearInterval(this.loopTimer);
      // Whatever failed above, a stopped host leaves no health file to be taken for a dead one.
      await this.health.stop();
      this.log(`Watchtower host ${this.hostId} stopped.`);
      this.resolveDone(0);
    }
  }

  // ---- commands ---------------------------------------------------------------------------

  private targets(): CommandTarget[] {
    const targets: CommandTarget[] = [{ kind: 'host', id: this.hostId }];
    for (const name of this.queues.names()) targets.push({ kind: 'connection', id: name });
    for (const supervisor of this.list) {
      if (supervisor.status === 'terminated') continue;
      targets.push({ kind: 'supervisor', id: supervisor.name });
      for (const worker of supervisor.workers) targets.push({ kind: 'worker', id: worker.id });
    }
    for (const id of this.departed.keys()) targets.push({ kind: 'worker', id });
    return targets;
  }

  /**
   * Runs each target's commands in order on its own chain and returns at once, so a long command
   * (a bulk retry) holds up only its own target. The poller claims one command per target, and the
   * bus hands out nothing more for a target while one of its commands is under lease (kept alive
   * while it runs): a command is claimed only when it can start. One sent behind a long command
   * stays pending on the bus meanwhile, where no lease can lapse and hand it to a second host, and
   * where it expires if its TTL ends first. Each answer wakes the poller for the next command.
   */
  private dispatch(commands: ClaimedCommand[]): void {
    const receivedAt = Date.now();
    for (const command of commands) {
      const key = `${command.target.kind}:${command.target.id}`;
      const previous = this.chains.get(key) ?? Promise.resolve();
      const next = previous.then(() => this.runCommand(command, receivedAt));
      this.chains.set(key, next);
      void next.then(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    }
  }

  private async runCommand(command: ClaimedCommand, receivedAt: number): Promise<void> {
    const what = `${command.type} ${command.id}`;
    // A command waits on its chain only when it came back while this host still ran the one before
    // it (that one's lease lapsed, say while the bus was unreachable). Past its TTL it is not
    // carried out: left unanswered, it reads as expired once its lease ends.
    if (ttlEnded(command, receivedAt) && !this.executor.hasCarriedOut(command.id)) {
      this.log(`Command ${what} not carried out: its TTL ended before it could start.`);
      return;
    }
    const leaseSeconds = this.leaseSeconds;
    const keeper = setInterval(
      () => {
        void this.bus
          .extendLease(command.id, command.claimToken, leaseSeconds)
          .then((kept) => {
            // Too late to stop it; said, so a second run elsewhere can be explained.
            if (!kept) this.note(`command ${what}`, new Error('its lease was lost while it ran'));
          })
          .catch(() => undefined);
      },
      (leaseSeconds * 1000) / 3,
    );
    try {
      const [answer] = await this.executor.execute([command]);
      this.counters.commands++;
      if (answer instanceof Error) this.note(`acknowledging ${what}`, answer);
      else if (answer?.status === 'failed') {
        this.counters.commandErrors++;
        this.log(`Command ${what} failed: ${answer.error}`);
      }
    } catch (error) {
      this.note(`command ${command.type}`, error);
    } finally {
      clearInterval(keeper);
      // The target's next command may be waiting on the bus for this one's answer.
      this.poller.wake();
    }
  }

  // ---- heartbeats -------------------------------------------------------------------------

  private beat(): Promise<void> {
    if (this.beating) return this.beating;
    this.lastBeatAt = Date.now();
    this.nextBeatAt = nextBeatDue(
      this.nextBeatAt,
      this.lastBeatAt,
      this.config.host.heartbeatInterval * 1000,
    );
    const departed = this.departedRows;
    this.departedRows = [];
    const workers = [
      ...departed,
      ...this.list.flatMap((s) => s.workers.map((w) => workerBeat(s, w, this.status))),
    ];
    const beat: HostBeat = {
      hostId: this.hostId,
      hostname: hostname(),
      pid: process.pid,
      version: packageVersion(),
      status: this.status,
      connections: this.queues.names(),
      supervisors: this.list.map((s) => s.snapshot()),
      memoryBytes: process.memoryUsage.rss(),
      stats: this.stats(),
      startedAt: this.startedAt,
      configuration: {
        ...this.databaseConfig.report(),
        encryptionKey: Boolean(this.env[CURRENT_KEY_VARIABLE]),
      },
    };
    // Health rows not written stay with the monitor for the next beat, like departed workers' rows.
    const health = this.connectionHealth.take();
    const current = writeHeartbeat(this.db, beat, workers, {
      deadAfterSeconds: this.config.host.deadAfter,
      health: health.rows,
    })
      .then(() => {
        this.counters.heartbeats++;
        health.written();
        this.heartbeatHealth.lastOkAt = Date.now();
      })
      .catch((error: unknown) => {
        this.heartbeatHealth.lastFailedAt = Date.now();
        this.heartbeatHealth.lastError = rootMessage(error);
        // Rows of departed workers are kept for the next beat; a failed beat loses nothing.
        this.departedRows = [...departed, ...this.departedRows];
        this.counters.heartbeatErrors++;
        this.note('heartbeat', error);
      })
      .finally(() => {
        this.beating = undefined;
      });
    this.beating = current;
    return current;
  }

  private healthInput(): HealthInput {
    return {
      // Still finishing its work (the recorder's last flush) until the file goes.
      status: this.finishing ? 'terminating' : this.status,
      supervisors: this.list,
      heartbeat: { ...this.heartbeatHealth },
      recorder: this.recorder.stats(),
    };
  }

  stats(): Record<string, unknown> {
    return {
      polls: this.poller.polls,
      ...this.counters,
      recorder: this.recorder.stats(),
      watchers: this.watchers.map((w) => w.stats()),
      health: this.connectionHealth.stats(),
      workerProcesses: {
        current: this.ceiling.current,
        max: this.ceiling.limit,
        maxFrom: this.ceiling.setting.source,
        refused: this.ceiling.refusals,
      },
      // Log lines that could not be written (stdout/stderr closed) and uncaught errors survived.
      ...outputStats(),
      lastError: this.lastError ?? null,
      // What the dashboard compares with the database's to show drift.
      configuration: {
        labels: this.options.labels ?? [],
        processorsDir: this.options.processorsDir ?? null,
        version: this.databaseConfig.current?.version ?? null,
        databaseSupervisors: this.databaseConfig.current?.supervisors.map((s) => s.name) ?? [],
        refused: this.databaseConfig.current?.refused ?? [],
      },
    };
  }

  private collectDeparted(supervisor: Supervisor): void {
    for (const worker of supervisor.takeDeparted()) {
      const at = new Date();
      this.departed.set(worker.id, { at, status: 'stopped' });
      this.departedRows.push(workerBeat(supervisor, worker, this.status));
    }
  }

  private pruneDeparted(now: number): void {
    for (const [id, { at }] of this.departed) {
      if (now - at.getTime() < DEPARTED_RETENTION_MS && this.departed.size <= DEPARTED_MAX) break;
      this.departed.delete(id);
    }
  }

  private async checkSeedTerminate(now: number): Promise<void> {
    if (this.checkingSeed || this.status === 'terminating') return;
    this.checkingSeed = true;
    this.lastSeedCheck = now;
    try {
      // `terminate` puts this key with the time it was asked (the seed's CLI did the same). A time
      // after this host started is for it; a value without a time counts if it appeared or
      // changed since the host first looked, so a leftover key never stops a fresh host.
      const value = await this.bus.get<unknown>(TERMINATE_KEY);
      const text = JSON.stringify(value);
      const first = this.seedBaseline === undefined;
      if (first) this.seedBaseline = text;
      const at = terminateTime(value);
      const forThisHost =
        at !== undefined
          ? at > this.startedAt.getTime()
          : value !== null && !first && text !== this.seedBaseline;
      if (forThisHost) {
        this.log(`Found ${TERMINATE_KEY}; terminating.`);
        this.flags.terminate = true;
      }
    } catch (error) {
      this.note('terminate key', error);
    } finally {
      this.checkingSeed = false;
    }
  }

  // ---- supervisors and watchers -------------------------------------------------------------

  private selected(config: WatchtowerConfig): SupervisorConfig[] {
    const only = this.options.only;
    return only ? config.supervisors.filter((s) => s.name === only) : config.supervisors;
  }

  private addSupervisor(config: SupervisorConfig): Supervisor {
    const connection = this.config.connections[config.connection];
    if (!connection) throw new Error(`supervisor ${config.name}: no connection "${config.connection}"`);
    const current = this.config;
    const supervisor = new Supervisor(config, {
      hostId: this.hostId,
      connectionUrl: connection.url,
      processorFor: (queue) => processorFor(current, config.name, queue),
      graceSeconds: this.graceSeconds,
      payloadCap: this.payloadCap.bytes,
      hooks: this.hooks,
      waitingJobs: (queue) => this.queues.waiting(config.connection, queue),
      ceiling: this.ceiling,
    });
    this.list.push(supervisor);
    supervisor.start();
    return supervisor;
  }

  /** Jobs added by producers reach the recorder through a queue watcher per Redis connection. */
  private startWatchers(): void {
    const byConnection = new Map<string, Set<string>>();
    for (const supervisor of this.supervisors()) {
      const set = byConnection.get(supervisor.config.connection) ?? new Set<string>();
      for (const queue of supervisor.config.queues) set.add(queue);
      byConnection.set(supervisor.config.connection, set);
    }
    for (const [connection, queues] of byConnection) {
      const url = this.config.connections[connection]?.url;
      // The watcher reads Redis streams; BullMQ's Postgres backend has none to read.
      if (!url || backendKind(url) !== 'redis') continue;
      try {
        this.watchers.push(
          watchQueues({
            db: this.db,
            connection,
            url,
            queues: [...queues],
            recorder: this.recorder,
            hostId: this.hostId,
            payloadCap: this.payloadCap.bytes,
            onError: (error) => this.note(`queue watcher ${connection}`, error),
          }),
        );
      } catch (error) {
        this.note(`queue watcher ${connection}`, error);
      }
    }
  }

  private async closeWatchers(): Promise<void> {
    const watchers = this.watchers;
    this.watchers = [];
    await Promise.all(
      watchers.map((w) => w.close().catch((error: unknown) => this.note('queue watcher', error))),
    );
  }

  /** Logs an error, at most once per message per minute: a Redis outage must not flood the log. */
  private readonly noted = new Map<string, number>();
  private note(what: string, error: unknown): void {
    const message = `${what}: ${error instanceof Error ? error.message || error.name : String(error)}`;
    this.lastError = message;
    const now = Date.now();
    const last = this.noted.get(message);
    if (last !== undefined && now - last < 60_000) return;
    this.noted.set(message, now);
    if (this.noted.size > 500) this.noted.clear();
    this.log(message);
  }
}

function workerBeat(supervisor: Supervisor, worker: WorkerProcess, hostStatus: HostStatus): WorkerBeat {
  const leftOrStopping = worker.desired === 'gone' && !worker.alive;
  return {
    workerId: worker.id,
    supervisor: supervisor.name,
    connection: supervisor.config.connection,
    queue: worker.spec.queue,
    pid: worker.pid,
    status: leftOrStopping || (hostStatus === 'stopped' && !worker.alive) ? 'stopped' : worker.status,
    currentJob: worker.currentJobs[0] ?? null,
    jobsProcessed: worker.processed,
    jobsFailed: worker.failed,
    memoryBytes: worker.memoryBytes,
    restarts: worker.restarts,
    lastError: worker.lastError,
    startedAt: worker.createdAt,
  };
}

/** What a supervisor's rows depend on: a change to any of it needs fresh worker processes. */
function fingerprint(
  config: WatchtowerConfig,
  supervisor: SupervisorConfig,
  options: { sizes: boolean } = { sizes: true },
): string {
  const { minProcesses, maxProcesses, ...rest } = supervisor;
  return JSON.stringify({
    supervisor: options.sizes ? supervisor : rest,
    url: config.connections[supervisor.connection]?.url,
    processors: supervisor.queues.map((queue) => processorFor(config, supervisor.name, queue)),
    grace: config.host.gracePeriod,
  });
}

/** The time a terminate was asked: epoch seconds or ms, an ISO string, or `{ at }`; else undefined. */
function terminateTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  if (typeof value === 'object' && value !== null && 'at' in value)
    return terminateTime((value as { at: unknown }).at);
  return undefined;
}

/** The worker processes a supervisor starts with. */
function startSize(config: SupervisorConfig): number {
  return sum([...initialSizes(config).values()]);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
