import type { SupervisorConfig } from '../config/config-schema';
import { autoBalanceStep, type BalanceLimits, simpleBalance } from './balance';
import type { ProcessCeiling } from './process-ceiling';
import { ProcessPool } from './process-pool';
import type { WorkerProcess, WorkerProcessHooks } from './worker-process';
import { workerSpec } from './worker-spec';

export type SupervisorStatus = 'running' | 'paused' | 'terminating' | 'terminated';

export interface SupervisorContext {
  hostId: string;
  connectionUrl: string;
  /** The processor module for a queue. */
  processorFor: (queue: string) => string;
  graceSeconds: number;
  /** Bytes of a job's data, result and message its worker processes record (recorder.maxPayloadBytes). */
  payloadCap: number;
  hooks: WorkerProcessHooks;
  /** Jobs waiting on a queue, for auto balancing. */
  waitingJobs: (queue: string) => Promise<number>;
  /** The host's ceiling of worker processes, over all its supervisors. */
  ceiling: ProcessCeiling;
}

export interface SupervisorSnapshot {
  name: string;
  connection: string;
  queues: string[];
  status: SupervisorStatus;
  balance: string;
  minProcesses: number;
  maxProcesses: number;
  processes: Record<string, number>;
}

/**
 * Keeps a process pool per queue for one supervisor configuration (Horizon's Supervisor), with
 * Horizon's verbs: pause, continue, restart, scale, terminate. Everything it does is driven from
 * the host's loop through `monitor` and `balance`, so a failure in one step never stops the next.
 */
export class Supervisor {
  status: SupervisorStatus = 'running';
  readonly pools = new Map<string, ProcessPool>();
  private limits: BalanceLimits;
  private lastBalanceAt = 0;
  private balancing = false;

  private current: SupervisorConfig;

  constructor(
    config: SupervisorConfig,
    private readonly context: SupervisorContext,
  ) {
    this.current = config;
    this.limits = {
      minPerQueue: config.minProcesses,
      maxTotal: config.maxProcesses,
      maxShift: config.balanceMaxShift,
    };
    for (const queue of config.queues) {
      const spec = workerSpec(config, queue, {
        hostId: context.hostId,
        connectionUrl: context.connectionUrl,
        processorPath: context.processorFor(queue),
        graceSeconds: context.graceSeconds,
        payloadCap: context.payloadCap,
      });
      this.pools.set(queue, new ProcessPool(queue, spec, context.hooks));
    }
  }

  get config(): SupervisorConfig {
    return this.current;
  }

  /**
   * New process bounds (a configuration whose only change is minProcesses/maxProcesses): the pools
   * grow or shrink in place, so the running worker processes and their jobs are left alone; a
   * shrinking pool lets its extra processes finish their jobs first. The host checked the ceiling.
   */
  resize(config: SupervisorConfig): Record<string, number> {
    this.current = config;
    this.limits = {
      minPerQueue: config.minProcesses,
      maxTotal: config.maxProcesses,
      maxShift: config.balanceMaxShift,
    };
    if (this.status === 'terminating' || this.status === 'terminated') return this.sizes();
    const targets =
      config.balance === 'simple'
        ? initialSizes(config)
        : autoTargets(this.sizes(), config.minProcesses, config.maxProcesses);
    // Shrinking first frees room for the growth.
    for (const [queue, count] of targets) {
      const pool = this.pools.get(queue);
      if (pool && count < pool.size) pool.scale(count, this.graceMs);
    }
    for (const [queue, count] of targets) {
      const pool = this.pools.get(queue);
      if (pool && count > pool.size) pool.scale(count, this.graceMs);
    }
    this.lastBalanceAt = Date.now();
    return this.sizes();
  }

  get name(): string {
    return this.config.name;
  }

  get graceMs(): number {
    return this.context.graceSeconds * 1000;
  }

  /** Starts the first processes (the host checked beforehand that they fit under its ceiling). */
  start(): void {
    for (const [queue, count] of initialSizes(this.config)) this.pools.get(queue)?.scale(count, this.graceMs);
  }

  /** Worker processes the supervisor keeps (its pools' sizes). */
  get size(): number {
    return [...this.pools.values()].reduce((n, pool) => n + pool.size, 0);
  }

  get workers(): WorkerProcess[] {
    return [...this.pools.values()].flatMap((pool) => pool.all);
  }

  findWorker(workerId: string): WorkerProcess | undefined {
    for (const pool of this.pools.values()) {
      const worker = pool.find(workerId);
      if (worker) return worker;
    }
    return undefined;
  }

  takeDeparted(): WorkerProcess[] {
    return [...this.pools.values()].flatMap((pool) => pool.takeDeparted());
  }

  monitor(now = Date.now()): void {
    for (const pool of this.pools.values()) pool.monitor(now);
    if (this.status === 'terminating' && [...this.pools.values()].every((pool) => pool.exited)) {
      this.status = 'terminated';
    }
  }

  /** One auto-balancing step when the cooldown has passed; a no-op for `simple`. */
  async balance(now = Date.now()): Promise<void> {
    if (this.config.balance !== 'auto' || this.status !== 'running' || this.balancing) return;
    if (now - this.lastBalanceAt < this.config.balanceCooldown * 1000) return;
    this.balancing = true;
    this.lastBalanceAt = now;
    try {
      const loads = await Promise.all(
        [...this.pools.values()].map(async (pool) => ({
          queue: pool.queue,
          waiting: await this.context.waitingJobs(pool.queue),
          processes: pool.size,
          msPerJob: pool.processed > 0 ? pool.busyMs / pool.processed : 0,
        })),
      );
      // A command may have changed things while the sizes were read.
      if (this.status !== 'running') return;
      const moves = [...autoBalanceStep(loads, this.limits)].flatMap(([queue, count]) => {
        const pool = this.pools.get(queue);
        return pool && pool.size !== count ? [{ pool, count }] : [];
      });
      // Shrinking first frees room; growth then gets what the host's ceiling leaves.
      for (const { pool, count } of moves) if (count < pool.size) pool.scale(count, this.graceMs);
      for (const { pool, count } of moves) {
        if (count <= pool.size) continue;
        const granted = this.context.ceiling.grant(count - pool.size);
        if (granted > 0) pool.scale(pool.size + granted, this.graceMs);
      }
    } finally {
      this.balancing = false;
    }
  }

  /**
   * Sets the number of processes: on one queue, or spread over all queues as `simple` would. A
   * number outside min/max moves the bound for this run, so auto balancing does not undo it.
   * Growth past the host's ceiling is refused, and then nothing changes.
   */
  scale(processes: number, queue?: string): Record<string, number> {
    if (queue !== undefined) {
      const pool = this.pools.get(queue);
      if (!pool) {
        throw new Error(
          `supervisor ${this.name} has no queue "${queue}" (its queues: ${this.config.queues.join(', ')})`,
        );
      }
      this.context.ceiling.check(
        processes - pool.size,
        `scaling supervisor ${this.name} to ${processes} on queue ${queue}`,
      );
      if (processes < this.limits.minPerQueue) this.limits.minPerQueue = processes;
      const others = [...this.pools.values()].filter((p) => p !== pool).reduce((n, p) => n + p.size, 0);
      if (others + processes > this.limits.maxTotal) this.limits.maxTotal = others + processes;
      pool.scale(processes, this.graceMs);
    } else {
      const perQueueFloor = Math.floor(processes / Math.max(this.pools.size, 1));
      const minPerQueue = Math.min(this.limits.minPerQueue, perQueueFloor);
      const split = simpleBalance(this.config.queues, { ...this.limits, minPerQueue, maxTotal: processes });
      const after = [...split.values()].reduce((n, count) => n + count, 0);
      this.context.ceiling.check(after - this.size, `scaling supervisor ${this.name} to ${processes}`);
      this.limits.minPerQueue = minPerQueue;
      this.limits.maxTotal = Math.max(processes, minPerQueue * this.pools.size);
      for (const [name, count] of split) this.pools.get(name)?.scale(count, this.graceMs);
    }
    // Auto balancing waits a full cooldown before moving anything the operator just set.
    this.lastBalanceAt = Date.now();
    return this.sizes();
  }

  /** Adds one process on a queue (the `worker.start` command); fails at the maximum. */
  addWorker(queue: string): WorkerProcess {
    const pool = this.pools.get(queue);
    if (!pool) {
      throw new Error(
        `supervisor ${this.name} does not serve queue "${queue}" (its queues: ${this.config.queues.join(', ')})`,
      );
    }
    if (this.status === 'terminating' || this.status === 'terminated') {
      throw new Error(`supervisor ${this.name} is terminating`);
    }
    this.context.ceiling.check(1, `starting a worker on ${this.name}/${queue}`);
    const total = this.size;
    if (total >= this.limits.maxTotal) this.limits.maxTotal = total + 1;
    this.lastBalanceAt = Date.now();
    return pool.add();
  }

  pause(): void {
    if (this.status !== 'running') return;
    this.status = 'paused';
    for (const pool of this.pools.values()) pool.pause();
  }

  continue(): void {
    if (this.status !== 'paused') return;
    this.status = 'running';
    for (const pool of this.pools.values()) pool.resume();
  }

  restart(): void {
    for (const pool of this.pools.values()) pool.restart(this.graceMs);
  }

  terminate(graceMs = this.graceMs): void {
    if (this.status === 'terminating' || this.status === 'terminated') return;
    this.status = 'terminating';
    for (const pool of this.pools.values()) pool.terminate(graceMs);
  }

  killAll(): void {
    for (const pool of this.pools.values()) pool.killAll();
  }

  sizes(): Record<string, number> {
    return Object.fromEntries([...this.pools].map(([queue, pool]) => [queue, pool.size]));
  }

  snapshot(): SupervisorSnapshot {
    return {
      name: this.name,
      connection: this.config.connection,
      queues: this.config.queues,
      status: this.status,
      balance: this.config.balance,
      minProcesses: this.limits.minPerQueue,
      maxProcesses: this.limits.maxTotal,
      processes: this.sizes(),
    };
  }
}

/** Auto balancing's sizes kept within new bounds: at least the minimum, at most the maximum in total (largest pools give first). */
function autoTargets(sizes: Record<string, number>, min: number, max: number): Map<string, number> {
  const targets = new Map(Object.entries(sizes).map(([queue, size]) => [queue, Math.max(size, min, 1)]));
  let total = [...targets.values()].reduce((n, size) => n + size, 0);
  while (total > max) {
    const [queue, size] = [...targets].reduce((a, b) => (b[1] > a[1] ? b : a));
    if (size <= Math.max(min, 1)) break;
    targets.set(queue, size - 1);
    total--;
  }
  return targets;
}

/** The first processes of each queue: `simple` splits maxProcesses evenly, `auto` starts at the minimum. */
export function initialSizes(config: SupervisorConfig): Map<string, number> {
  if (config.balance === 'simple') {
    return simpleBalance(config.queues, {
      minPerQueue: config.minProcesses,
      maxTotal: config.maxProcesses,
      maxShift: config.balanceMaxShift,
    });
  }
  return new Map(config.queues.map((queue) => [queue, Math.max(config.minProcesses, 1)]));
}
