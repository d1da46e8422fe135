import type { QueueRegistry } from '../commands/queue-registry';
import type { SupervisorConfig, WatchtowerConfig } from '../config/config-schema';
import type { DatabaseSupervisors } from '../config/database-supervisors';
import { ConfigError } from '../config/load-config';
import { mergeConfig, processorFor } from '../config/merge-config';
import type { ConnectionHealth } from '../health/connection-health';
import { payloadCapSetting } from '../recorder/payload-cap';
import { ceilingSetting, type ProcessCeiling } from '../supervisor/process-ceiling';
import { initialSizes, Supervisor } from '../supervisor/supervisor';
import type { WorkerProcess, WorkerProcessHooks } from '../supervisor/worker-process';
import type { DatabaseConfig } from './database-config';
import type { ReloadResult } from './host-control';
import type { QueueWatchers } from './queue-watchers';
import type { WorkerCode } from './worker-code';

export interface SupervisorSetOptions {
  hostId: string;
  /** The configuration file as the host started with it. */
  config: WatchtowerConfig;
  /** Run only this supervisor of any configuration (`watchtower supervisor --supervisor=name`). */
  only: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Bytes of data, result and message recorded per job (recorder.maxPayloadBytes; fixed at start). */
  payloadCap: number;
  hooks: WorkerProcessHooks;
  /** The most worker processes the host keeps, over all its supervisors. */
  ceiling: ProcessCeiling;
  workerCode: WorkerCode;
  queues: QueueRegistry;
  connectionHealth: ConnectionHealth;
  databaseConfig: DatabaseConfig;
  watchers: QueueWatchers;
  requestHeartbeat: () => void;
  log: (line: string) => void;
  note: (what: string, error: unknown) => void;
}

/**
 * The supervisors a host runs, and the configuration they come from: the file's merged with the
 * database's (database-config.ts). A reload, from either, starts, drains, resizes and restarts
 * supervisors to match, one reload at a time; the verbs every level has (pause, continue, restart,
 * terminate) go to all of them.
 */
export class SupervisorSet {
  /** The configuration the host runs: `fileConfig` merged with the database's supervisors. */
  config: WatchtowerConfig;
  /** The configuration file as last read. */
  private fileConfig: WatchtowerConfig;
  /**
   * The host settings it started with, which it keeps until restarted (heartbeats, command polling,
   * health checks): a reload says which of them differ from these, not from the last reload.
   */
  private readonly startedHost: WatchtowerConfig['host'];
  /**
   * Seconds worker processes get to finish their jobs: given to each supervisor as it starts, and
   * to all of them when the host terminates (`host.terminate` may set it).
   */
  graceSeconds: number;
  private list: Supervisor[] = [];
  /** Reloads, from the file or the database, one at a time. */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SupervisorSetOptions) {
    this.config = options.config;
    this.fileConfig = options.config;
    this.startedHost = options.config.host;
    this.graceSeconds = options.config.host.gracePeriod;
  }

  /** Every supervisor, including those terminated whose last rows are not written yet. */
  get all(): Supervisor[] {
    return this.list;
  }

  /** Worker processes kept, over all supervisors (what the host's ceiling counts). */
  get size(): number {
    return this.list.reduce((n, supervisor) => n + supervisor.size, 0);
  }

  /** The supervisors not terminated. */
  live(): Supervisor[] {
    return this.list.filter((s) => s.status !== 'terminated');
  }

  /** The live supervisor of that name (not one still finishing after a reload). */
  find(name: string): Supervisor | undefined {
    return this.list.find((s) => s.name === name && s.status !== 'terminating' && s.status !== 'terminated');
  }

  findWorker(workerId: string): { worker: WorkerProcess; supervisor: Supervisor } | undefined {
    for (const supervisor of this.list) {
      const worker = supervisor.findWorker(workerId);
      if (worker) return { worker, supervisor };
    }
    return undefined;
  }

  /**
   * At start, before anything runs: the file merged with the database's supervisors (if any), and
   * refused with a ConfigError if they start more worker processes than the host keeps.
   */
  async prepare(database: DatabaseSupervisors | undefined): Promise<void> {
    if (database) {
      const merged = mergeConfig(this.fileConfig, database);
      for (const clash of merged.clashes) this.options.log(clash);
      this.config = merged.config;
      await this.options.queues.setConnections(this.config.connections);
    }
    const ceiling = this.options.ceiling;
    const needed = sum(this.selected(this.config).map(startSize));
    if (needed > ceiling.limit) {
      throw new ConfigError(
        `The configuration starts ${needed} worker processes, more than this host keeps: at most ${ceiling.limit} (${ceiling.setting.source})`,
      );
    }
  }

  start(): void {
    for (const config of this.selected(this.config)) this.add(config);
  }

  /** Supervisors terminated leave once their last rows are written; true if any left. */
  removeTerminated(): boolean {
    if (!this.list.some((s) => s.status === 'terminated')) return false;
    this.list = this.list.filter((s) => s.status !== 'terminated');
    return true;
  }

  /** Restarts every worker process gracefully; returns how many. */
  restart(): number {
    let count = 0;
    for (const supervisor of this.live()) {
      supervisor.restart();
      count += supervisor.workers.length;
    }
    return count;
  }

  pause(): void {
    for (const supervisor of this.live()) supervisor.pause();
  }

  continue(): void {
    for (const supervisor of this.live()) supervisor.continue();
  }

  terminate(graceMs: number): void {
    for (const supervisor of this.list) supervisor.terminate(graceMs);
  }

  killAll(): void {
    for (const supervisor of this.list) supervisor.killAll();
  }

  /** A new configuration file (`host.reload`), merged with the database's supervisors as they are. */
  reload(file: WatchtowerConfig): Promise<ReloadResult> {
    return this.serialized(() => this.apply(file, this.options.databaseConfig.current));
  }

  /** A new version of the database's supervisors, merged with the file as last read. */
  applyDatabase(database: DatabaseSupervisors): Promise<ReloadResult> {
    return this.serialized(() => this.apply(this.fileConfig, database));
  }

  private serialized<T>(step: () => Promise<T>): Promise<T> {
    const next = this.applying.then(step, step);
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** Runs the file's configuration merged with the database's: starts, drains and restarts supervisors. */
  private async apply(
    file: WatchtowerConfig,
    database: DatabaseSupervisors | undefined,
  ): Promise<ReloadResult> {
    const merged = mergeConfig(file, database);
    for (const clash of merged.clashes) this.options.note('configuration', new Error(clash));
    const next = merged.config;
    const before = new Map(this.live().map((s) => [s.name, s]));
    const wanted = new Map(this.selected(next).map((c) => [c.name, c]));
    const result: ReloadResult = {
      added: [],
      removed: [],
      restarted: [],
      resized: [],
      unchanged: [],
      needsHostRestart: [],
    };
    // The health checks keep the interval they started with; their connections follow the reload.
    for (const key of [
      'heartbeatInterval',
      'pollInterval',
      'deadAfter',
      'commandLease',
      'healthInterval',
    ] as const) {
      if (next.host[key] !== this.startedHost[key]) result.needsHostRestart.push(`host.${key}`);
    }
    // The recorder, the watchers and every worker process share the cap they started with.
    const nextCap = payloadCapSetting(next.recorder.maxPayloadBytes, this.options.env);
    if (nextCap.bytes !== this.options.payloadCap) result.needsHostRestart.push('recorder.maxPayloadBytes');
    // Refused before anything changes when the new configuration needs more processes than fit.
    const ceiling = ceilingSetting(next.host.maxWorkerProcesses, this.options.env);
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
    this.options.ceiling.setting = ceiling;
    await this.options.workerCode.rebuild(next);
    const previous = this.config;
    this.config = next;
    this.fileConfig = file;
    this.options.databaseConfig.current = database;
    this.graceSeconds = next.host.gracePeriod;
    await this.options.queues.setConnections(next.connections);
    this.options.connectionHealth.setConnections(next.connections);
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
        this.add(config);
        result.restarted.push(name);
      } else {
        result.unchanged.push(name);
      }
    }
    for (const [name, config] of wanted) {
      if (!before.has(name)) {
        this.add(config);
        result.added.push(name);
      }
    }
    if (result.added.length || result.removed.length || result.restarted.length) {
      await this.options.watchers.close();
      this.options.watchers.start(this.live(), this.config.connections);
    }
    this.options.requestHeartbeat();
    this.options.log(
      `Configuration reloaded${database ? ` (database configuration version ${database.version})` : ''}: ${JSON.stringify(result)}`,
    );
    return result;
  }

  private selected(config: WatchtowerConfig): SupervisorConfig[] {
    const only = this.options.only;
    return only ? config.supervisors.filter((s) => s.name === only) : config.supervisors;
  }

  private add(config: SupervisorConfig): Supervisor {
    const connection = this.config.connections[config.connection];
    if (!connection) throw new Error(`supervisor ${config.name}: no connection "${config.connection}"`);
    const current = this.config;
    const supervisor = new Supervisor(config, {
      hostId: this.options.hostId,
      connectionUrl: connection.url,
      processorFor: (queue) => processorFor(current, config.name, queue),
      graceSeconds: this.graceSeconds,
      payloadCap: this.options.payloadCap,
      hooks: this.options.hooks,
      waitingJobs: (queue) => this.options.queues.waiting(config.connection, queue),
      ceiling: this.options.ceiling,
    });
    this.list.push(supervisor);
    supervisor.start();
    return supervisor;
  }
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

/** The worker processes a supervisor starts with. */
function startSize(config: SupervisorConfig): number {
  return sum([...initialSizes(config).values()]);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
