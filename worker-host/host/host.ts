import type { CommandBus } from '../../core/bus/command-bus';
import type { Database } from '../../core/db/database';
import type { QueueRegistry } from '../commands/queue-registry';
import { loadConfig } from '../config/load-config';
import type { HostStatus } from '../heartbeat/heartbeat';
import type { PayloadCapSetting } from '../recorder/payload-cap';
import type { Supervisor } from '../supervisor/supervisor';
import type { HealthInput } from './health-reporter';
import type { HostControl, ReloadResult } from './host-control';
import { newHostId } from './host-id';
import type { HostOptions } from './host-options';
import { HostParts } from './host-parts';
import { hostStats } from './host-report';

const TICK_MS = 200;

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
  /** Bytes of data, result and message recorded per job (recorder.maxPayloadBytes; fixed at start). */
  readonly payloadCap: PayloadCapSetting;
  readonly done: Promise<number>;
  /** Everything the host opened (host-parts.ts); the loop below drives it. */
  private readonly parts: HostParts;
  private readonly flags = { terminate: false, force: false, restart: false, pause: false, continue: false };
  private status: HostStatus = 'running';
  private loopTimer: ReturnType<typeof setInterval> | undefined;
  private finishing: Promise<void> | undefined;
  private resolveDone: (code: number) => void = () => undefined;

  constructor(private readonly options: HostOptions) {
    this.parts = new HostParts(options, {
      hostId: this.hostId,
      startedAt: this.startedAt,
      control: this,
      status: () => this.status,
      terminate: () => {
        this.flags.terminate = true;
      },
    });
    this.db = this.parts.db;
    this.bus = this.parts.bus;
    this.queues = this.parts.queues;
    this.payloadCap = this.parts.payloadCap;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  get stopping(): AbortSignal {
    return this.parts.stopping.signal;
  }

  async start(): Promise<void> {
    const { databaseConfig, supervisors, health } = this.parts;
    const database = await databaseConfig.start(this.options.config);
    await supervisors.prepare(database);
    await health.starting();
    try {
      await this.startParts();
    } catch (error) {
      // A host that never ran leaves no file saying it is starting.
      await health.stop();
      throw error;
    }
  }

  private async startParts(): Promise<void> {
    const { workerCode, supervisors, watchers, heartbeat, commands } = this.parts;
    await workerCode.build(supervisors.config);
    supervisors.start();
    watchers.start(supervisors.live(), supervisors.config.connections);
    // The first heartbeat registers the host before it claims anything, so `status` and the
    // dashboard know it by the time it answers its first command.
    await heartbeat.beat();
    await commands.start();
    this.loopTimer = setInterval(() => this.tick(), TICK_MS);
    this.parts.log(
      `Watchtower host ${this.hostId} started: ${supervisors.all.map((s) => `${s.name} (${s.config.queues.join(', ')})`).join('; ') || 'no supervisors'}`,
    );
  }

  /**
   * Closes what the constructor opened, for a host whose start() failed: an embedding application
   * (startHost) carries on, so nothing may be left holding its event loop or connections.
   */
  async discard(): Promise<void> {
    clearInterval(this.loopTimer);
    await this.parts.discard();
  }

  /** Signal handlers call this: it only sets flags; the loop acts on them. */
  signal(name: 'terminate' | 'force' | 'restart' | 'pause' | 'continue'): void {
    this.flags[name] = true;
  }

  // ---- HostControl ------------------------------------------------------------------------

  supervisors(): Supervisor[] {
    return this.parts.supervisors.live();
  }

  findSupervisor(name: string): Supervisor | undefined {
    return this.parts.supervisors.find(name);
  }

  findWorker(workerId: string) {
    return this.parts.supervisors.findWorker(workerId);
  }

  departedWorker(workerId: string) {
    return this.parts.departed.get(workerId);
  }

  restartWorkers(): number {
    return this.parts.supervisors.restart();
  }

  requestTerminate(graceSeconds?: number): void {
    if (graceSeconds !== undefined) this.parts.supervisors.graceSeconds = graceSeconds;
    this.flags.terminate = true;
  }

  heartbeatNow(): Promise<void> {
    return this.parts.heartbeat.now();
  }

  requestHeartbeat(): void {
    this.parts.heartbeat.request();
  }

  async reload(): Promise<ReloadResult> {
    const file = this.options.reloadConfig
      ? await this.options.reloadConfig()
      : await loadConfig({ path: this.options.configPath, env: this.options.env });
    return this.parts.supervisors.reload(file);
  }

  stats(): Record<string, unknown> {
    return hostStats(this.parts, this.options);
  }

  // ---- the loop ---------------------------------------------------------------------------

  private tick(): void {
    const { supervisors, departed, connectionHealth, heartbeat, terminateKey, databaseConfig, health } =
      this.parts;
    try {
      this.readFlags();
      const now = Date.now();
      for (const supervisor of supervisors.all) {
        try {
          supervisor.monitor(now);
          departed.collect(supervisor, this.status);
          void supervisor
            .balance(now)
            .catch((error: unknown) => this.note(`balance ${supervisor.name}`, error));
        } catch (error) {
          this.note(`supervisor ${supervisor.name}`, error);
        }
      }
      // Terminated supervisors leave once their last rows are written.
      if (supervisors.removeTerminated()) this.requestHeartbeat();
      departed.prune(now);
      if (this.status !== 'stopped') connectionHealth.tick(now);
      if (!this.finishing) heartbeat.tick(now);
      terminateKey.tick(now, this.status === 'terminating');
      databaseConfig.tick(now, this.status === 'terminating');
      // Written from this loop, so a fresh file says the loop turns (a stuck one leaves it stale).
      health.tick(now, () => this.healthInput());
      if (this.status === 'terminating' && supervisors.all.length === 0 && !this.finishing) {
        this.finishing = this.finish();
      }
    } catch (error) {
      this.note('host loop', error);
    }
  }

  private readFlags(): void {
    const flags = this.flags;
    const supervisors = this.parts.supervisors;
    if (flags.force) {
      flags.force = false;
      this.parts.log('Second interrupt: killing worker processes now.');
      supervisors.killAll();
      flags.terminate = true;
    }
    if (flags.terminate) {
      flags.terminate = false;
      this.beginTerminate();
    }
    if (this.status === 'terminating') return;
    if (flags.restart) {
      flags.restart = false;
      this.parts.log(`Restarting ${this.restartWorkers()} worker processes.`);
    }
    if (flags.pause) {
      flags.pause = false;
      supervisors.pause();
      this.status = 'paused';
      this.requestHeartbeat();
    }
    if (flags.continue) {
      flags.continue = false;
      supervisors.continue();
      this.status = 'running';
      this.requestHeartbeat();
    }
  }

  private healthInput(): HealthInput {
    return {
      // Still finishing its work (the recorder's last flush) until the file goes.
      status: this.finishing ? 'terminating' : this.status,
      supervisors: this.parts.supervisors.all,
      heartbeat: { ...this.parts.heartbeat.health },
      recorder: this.parts.recorder.stats(),
    };
  }

  // ---- shutdown ---------------------------------------------------------------------------

  private beginTerminate(): void {
    if (this.status === 'terminating') return;
    this.status = 'terminating';
    this.parts.terminate(() => this.finishing !== undefined);
  }

  private async finish(): Promise<void> {
    try {
      await this.parts.close(() => {
        this.status = 'stopped';
      });
    } catch (error) {
      this.note('shutdown', error);
    } finally {
      clearInterval(this.loopTimer);
      // Whatever failed above, a stopped host leaves no health file to be taken for a dead one.
      await this.parts.health.stop();
      this.parts.log(`Watchtower host ${this.hostId} stopped.`);
      this.resolveDone(0);
    }
  }

  private note(what: string, error: unknown): void {
    this.parts.errors.note(what, error);
  }
}
