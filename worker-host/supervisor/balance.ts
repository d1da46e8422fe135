/**
 * How a supervisor spreads its worker processes over its queues (Horizon's balancing).
 *
 * The decision is per host, not across hosts. Each host scales its own processes against its own
 * `maxProcesses`, which is the capacity of that machine (memory, cores) as the operator sized it;
 * hosts reading the same queue depth all scale up together, each within its own bound, and all
 * scale down together when the queue empties. Deciding across hosts would need a leader or shared
 * state and a round trip per step, and a wrong shared decision (a host that is slow, or cannot
 * reach the queue) would starve the others; per host it needs nothing but the queue's depth,
 * which the host reads from the queue backend itself.
 */

export interface QueueLoad {
  queue: string;
  /** Jobs waiting to run (waiting + prioritized). */
  waiting: number;
  /** Slots of this queue's pool that take jobs now. */
  processes: number;
  /** Average milliseconds per job seen by this host's processes on this queue; 0 when unknown. */
  msPerJob: number;
}

export interface BalanceLimits {
  /** Processes kept on each queue whatever the load. */
  minPerQueue: number;
  /** Processes of the supervisor in total. */
  maxTotal: number;
  /** Most processes added or removed on one queue in one step. */
  maxShift: number;
}

/** `simple`: the total split evenly over the queues (the first queues get the remainder). */
export function simpleBalance(queues: readonly string[], limits: BalanceLimits): Map<string, number> {
  const result = new Map<string, number>();
  if (queues.length === 0) return result;
  const total = Math.max(limits.maxTotal, limits.minPerQueue * queues.length);
  const base = Math.floor(total / queues.length);
  const extra = total % queues.length;
  queues.forEach((queue, index) => {
    result.set(queue, Math.max(limits.minPerQueue, base + (index < extra ? 1 : 0)));
  });
  return result;
}

/**
 * One `auto` step: each queue's share of `maxTotal` follows its share of the time to clear all
 * queues (waiting jobs × time per job; queue size alone while no time is known), never below the
 * minimum. Each queue then moves toward its share by at most `maxShift`, and growth is cut so the
 * total never passes `maxTotal`. A step on idle queues walks every pool back to the minimum.
 */
export function autoBalanceStep(loads: readonly QueueLoad[], limits: BalanceLimits): Map<string, number> {
  const known = loads.filter((load) => load.msPerJob > 0);
  // A queue whose time per job is unknown is weighed with the average of the others (or 1 ms).
  const fallbackMs = known.length ? known.reduce((sum, load) => sum + load.msPerJob, 0) / known.length : 1;
  const weights = loads.map((load) => load.waiting * (load.msPerJob > 0 ? load.msPerJob : fallbackMs));
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const spare = Math.max(0, limits.maxTotal - limits.minPerQueue * loads.length);

  const targets = loads.map((load, index) => {
    if (totalWeight === 0 || load.waiting === 0) return limits.minPerQueue;
    const share = (weights[index] ?? 0) / totalWeight;
    // Busy queues get at least one process above the minimum, so a small share is not rounded away.
    return limits.minPerQueue + Math.max(1, Math.round(share * spare));
  });

  const next = loads.map((load, index) => {
    const target = Math.min(targets[index] ?? limits.minPerQueue, limits.maxTotal);
    const delta = Math.max(-limits.maxShift, Math.min(limits.maxShift, target - load.processes));
    return Math.max(limits.minPerQueue, load.processes + delta);
  });

  // Shrinking frees room first; growth then fits in what is left, largest time-to-clear first.
  let total = next.reduce((sum, count) => sum + count, 0);
  const byWeight = loads.map((_, index) => index).sort((a, b) => (weights[a] ?? 0) - (weights[b] ?? 0));
  for (const index of byWeight) {
    if (total <= limits.maxTotal) break;
    const current = loads[index]?.processes ?? 0;
    const planned = next[index] ?? 0;
    const cut = Math.min(planned - Math.max(current, limits.minPerQueue), total - limits.maxTotal);
    if (cut > 0) {
      next[index] = planned - cut;
      total -= cut;
    }
  }
  const result = new Map<string, number>();
  loads.forEach((load, index) => {
    result.set(load.queue, next[index] ?? load.processes);
  });
  return result;
}
