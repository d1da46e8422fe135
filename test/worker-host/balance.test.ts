import { describe, expect, it } from 'vitest';
import { autoBalanceStep, simpleBalance } from '../../worker-host/supervisor/balance';
import { crashBackoffMs } from '../../worker-host/supervisor/worker-process';

describe('balancing', () => {
  it('simple: splits maxProcesses evenly, never below the minimum per queue', () => {
    expect(
      Object.fromEntries(simpleBalance(['a', 'b', 'c'], { minPerQueue: 1, maxTotal: 7, maxShift: 1 })),
    ).toEqual({
      a: 3,
      b: 2,
      c: 2,
    });
    expect(
      Object.fromEntries(simpleBalance(['a', 'b'], { minPerQueue: 2, maxTotal: 2, maxShift: 1 })),
    ).toEqual({
      a: 2,
      b: 2,
    });
  });

  const limits = { minPerQueue: 1, maxTotal: 10, maxShift: 2 };

  it('auto: moves toward each queue’s share of the time to clear, at most maxShift per step', () => {
    const step = autoBalanceStep(
      [
        { queue: 'slow', waiting: 100, processes: 1, msPerJob: 1000 },
        { queue: 'fast', waiting: 100, processes: 1, msPerJob: 10 },
      ],
      limits,
    );
    expect(step.get('slow')).toBe(3); // wants ~9, moves by 2
    expect(step.get('fast')).toBe(2); // a busy queue gets at least one above the minimum
  });

  it('auto: converges within the maximum and stays there', () => {
    let loads = [
      { queue: 'a', waiting: 500, processes: 1, msPerJob: 100 },
      { queue: 'b', waiting: 500, processes: 1, msPerJob: 100 },
    ];
    for (let i = 0; i < 10; i++) {
      const step = autoBalanceStep(loads, limits);
      loads = loads.map((load) => ({ ...load, processes: step.get(load.queue) ?? load.processes }));
      expect(loads.reduce((n, l) => n + l.processes, 0)).toBeLessThanOrEqual(limits.maxTotal);
    }
    expect(loads.map((l) => l.processes)).toEqual([5, 5]);
  });

  it('auto: walks idle queues back to the minimum', () => {
    const step = autoBalanceStep(
      [
        { queue: 'a', waiting: 0, processes: 6, msPerJob: 50 },
        { queue: 'b', waiting: 0, processes: 1, msPerJob: 0 },
      ],
      limits,
    );
    expect(Object.fromEntries(step)).toEqual({ a: 4, b: 1 });
  });

  it('auto: growth never pushes the total past the maximum', () => {
    const step = autoBalanceStep(
      [
        { queue: 'a', waiting: 1000, processes: 5, msPerJob: 100 },
        { queue: 'b', waiting: 1000, processes: 4, msPerJob: 100 },
      ],
      { minPerQueue: 1, maxTotal: 10, maxShift: 3 },
    );
    expect([...step.values()].reduce((n, v) => n + v, 0)).toBe(10);
  });
});

describe('crash backoff', () => {
  it('replaces the first death at once, then backs off up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 20].map(crashBackoffMs)).toEqual([0, 500, 1000, 2000, 4000, 30_000]);
  });
});
