import { WorkerProcess, type WorkerProcessHooks } from './worker-process';
import type { WorkerSpec } from './worker-spec';

/**
 * The worker processes of one queue of one supervisor (Horizon's ProcessPool). Its size is the
 * number of slots that are not leaving; a stopped slot keeps its place (so the pool does not undo
 * an operator's stop) until it is restarted or scaled away.
 */
export class ProcessPool {
  private slots: WorkerProcess[] = [];
  private paused = false;
  /** Slots that left since the last heartbeat, reported once as stopped and then forgotten. */
  private departed: WorkerProcess[] = [];

  constructor(
    readonly queue: string,
    private readonly spec: WorkerSpec,
    private readonly hooks: WorkerProcessHooks,
  ) {}

  /** Slots that count toward the pool's size. */
  get processes(): WorkerProcess[] {
    return this.slots.filter((slot) => slot.desired !== 'gone');
  }

  /** Every slot with a row to keep fresh: members, and those still finishing their jobs. */
  get all(): WorkerProcess[] {
    return this.slots;
  }

  get size(): number {
    return this.processes.length;
  }

  /** Slots that take jobs (not stopped by an operator). */
  get working(): number {
    return this.slots.filter((slot) => slot.desired === 'running' || slot.desired === 'paused').length;
  }

  get busyMs(): number {
    return this.slots.reduce((sum, slot) => sum + slot.busyMs, 0);
  }

  get processed(): number {
    return this.slots.reduce((sum, slot) => sum + slot.processed + slot.failed, 0);
  }

  find(workerId: string): WorkerProcess | undefined {
    return this.slots.find((slot) => slot.id === workerId);
  }

  /** Grows or shrinks to `count` slots. Shrinking picks stopped slots first, then idle ones, newest first. */
  scale(count: number, graceMs: number): WorkerProcess[] {
    const members = this.processes;
    const added: WorkerProcess[] = [];
    for (let i = members.length; i < count; i++) added.push(this.add());
    if (count < members.length) {
      const rank = (slot: WorkerProcess) =>
        slot.desired === 'stopped' ? 0 : slot.currentJobs.length === 0 ? 1 : 2;
      const leaving = [...members]
        .sort((a, b) => rank(a) - rank(b) || b.createdAt.getTime() - a.createdAt.getTime())
        .slice(0, members.length - count);
      for (const slot of leaving) slot.terminate(graceMs);
    }
    return added;
  }

  add(): WorkerProcess {
    const slot = new WorkerProcess(this.spec, this.hooks, { paused: this.paused });
    this.slots.push(slot);
    slot.monitor();
    return slot;
  }

  /** Replaces dead processes and drops slots that finished leaving. */
  monitor(now = Date.now()): void {
    for (const slot of this.slots) slot.monitor(now);
    const finished = this.slots.filter((slot) => slot.finished);
    if (finished.length > 0) {
      this.slots = this.slots.filter((slot) => !slot.finished);
      this.departed.push(...finished);
    }
  }

  /** Slots that left since the last call, for one last heartbeat row. */
  takeDeparted(): WorkerProcess[] {
    const departed = this.departed;
    this.departed = [];
    return departed;
  }

  pause(): void {
    this.paused = true;
    for (const slot of this.slots) slot.pause();
  }

  resume(): void {
    this.paused = false;
    for (const slot of this.slots) slot.resume();
  }

  restart(graceMs: number): void {
    for (const slot of this.processes) slot.restart(graceMs);
  }

  terminate(graceMs: number): void {
    for (const slot of this.slots) slot.terminate(graceMs);
  }

  killAll(): void {
    for (const slot of this.slots) slot.kill();
  }

  /** Whether no process of the pool is alive. */
  get exited(): boolean {
    return this.slots.every((slot) => !slot.alive);
  }
}
