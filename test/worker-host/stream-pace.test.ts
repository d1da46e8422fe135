import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { eventStream } from '../../worker-host/recorder/event-stream';
import type { Watched } from '../../worker-host/recorder/watched-queue';
import { testEnv } from '../setup/test-env';

/**
 * The queue watcher's reads of a busy stream are paced to a share of Redis's time while all they
 * find is finishes this host's own recorder already wrote (event-stream.ts `pause`): under load
 * those reads were most of what the host added to Redis's CPU per job. A read that finds other
 * workers' finishes keeps the watcher's pace, since only the stream says those jobs ran.
 */
const run = Math.random().toString(36).slice(2, 8);
const redis = new Redis(testEnv.redisUrl);
const streamRedis = new Redis(testEnv.redisUrl);
const queues: Queue[] = [];

afterAll(async () => {
  for (const queue of queues) {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
  redis.disconnect();
  streamRedis.disconnect();
});

/** The pace and the longest pause the tests give: a paced read waits the longest pause. */
const PACE_MS = 100;
const MAX_PAUSE_MS = 4_321;

interface Finish {
  jobId: string;
  /** When the stream says it finished, ms ago. */
  agoMs: number;
  /** Written by this host's recorder. */
  written: boolean;
}

/**
 * A queue whose stream holds `active` and `completed` events of `finishes`, as BullMQ writes them,
 * and the watcher's state for it with the written ones noted, its cursor at the start.
 */
async function streamOf(label: string, finishes: Finish[]): Promise<Watched> {
  const queue = new Queue(`pace-${label}-${run}`, { connection: { url: testEnv.redisUrl } });
  queues.push(queue);
  const key = queue.toKey('events');
  const now = Date.now();
  // Twenty entries no watcher cares about first, read by the first (blocking) read.
  for (let i = 0; i < 20; i++) await redis.xadd(key, `${now - 120_000}-${i}`, 'event', 'drained', 'id', '0');
  let sequence = 0;
  for (const finish of [...finishes].sort((a, b) => b.agoMs - a.agoMs)) {
    const at = now - finish.agoMs;
    await redis.xadd(key, `${at}-${sequence++}`, 'event', 'active', 'jobId', finish.jobId, 'prev', 'waiting');
    await redis.xadd(
      key,
      `${at}-${sequence++}`,
      'event',
      'completed',
      'jobId',
      finish.jobId,
      'returnvalue',
      '1',
    );
  }
  return {
    name: queue.name,
    queue,
    eventsKey: key,
    leased: true,
    lastSeenId: '0-0',
    recordedThroughId: '0-0',
    savedId: undefined,
    sweptUntil: undefined,
    added: new Map(),
    addedChain: Promise.resolve(),
    finished: new Map(),
    written: new Map(finishes.filter((f) => f.written).map((f) => [f.jobId, now - f.agoMs])),
  };
}

/**
 * Reads the stream as the watcher does (a blocking read, then a filtered one) with `ownReadShare`,
 * and asks how long to wait after that, the watcher's own pace being `paceMs`.
 */
async function pauseAfterReading(
  w: Watched,
  { ownReadShare = 1e-9, paceMs = PACE_MS } = {},
): Promise<{ pause: number; pacedReads: number; finished: number }> {
  const counters = { streamReads: 0, filteredReads: 0, pacedReads: 0 };
  const stream = eventStream({
    redis,
    streamRedis,
    streamCount: 20,
    streamBlockMs: 1_000,
    // By default so small that any paced read waits the longest pause, whatever the read took.
    ownReadShare,
    maxPauseMs: MAX_PAUSE_MS,
    counters,
    report: (error) => {
      throw error;
    },
  });
  expect(await stream.read([w])).toBe(true); // the blocking read: the twenty drained events
  expect(await stream.read([w])).toBe(true); // filtered: the finishes (fewer than 20 entries)
  expect(counters.filteredReads).toBe(1);
  const pause = stream.pause(paceMs);
  return { pause, pacedReads: counters.pacedReads, finished: w.finished.size };
}

const finishes = (prefix: string, n: number, agoMs: number, written: boolean): Finish[] =>
  Array.from({ length: n }, (_, i) => ({ jobId: `${prefix}${i}`, agoMs, written }));

describe('the queue watcher pacing its reads of a busy stream', () => {
  it('paces a read that found only finishes this host wrote', async () => {
    const w = await streamOf('own', finishes('own-', 9, 30_000, true));
    expect(await pauseAfterReading(w)).toEqual({ pause: MAX_PAUSE_MS, pacedReads: 1, finished: 9 });
  });

  it('keeps its pace when the read found finishes this host did not write', async () => {
    const w = await streamOf('other', [
      ...finishes('own-', 8, 30_000, true),
      ...finishes('other-', 1, 30_000, false),
    ]);
    // One in nine is another worker's: more than a tenth of the finishes.
    expect(await pauseAfterReading(w)).toEqual({ pause: PACE_MS, pacedReads: 0, finished: 9 });
  });

  it('does not count a recent finish the recorder may not have written yet', async () => {
    // Just finished and not written: still on its way from a worker process of this host, or not.
    const mixed = await streamOf('recent', [
      ...finishes('own-', 5, 30_000, true),
      ...finishes('new-', 4, 0, false),
    ]);
    expect(await pauseAfterReading(mixed)).toEqual({ pause: MAX_PAUSE_MS, pacedReads: 1, finished: 9 });
    // Nothing but such finishes: nothing says the read was only this host's.
    const fresh = await streamOf('fresh', finishes('new-', 9, 0, false));
    expect(await pauseAfterReading(fresh)).toEqual({ pause: PACE_MS, pacedReads: 0, finished: 9 });
  });

  it('never reads sooner than its own pace', async () => {
    const w = await streamOf('cap', finishes('own-', 9, 30_000, true));
    // However long the read took, its pause is at most the longest (4.3 s here): a 10 s pace stands.
    expect(await pauseAfterReading(w, { ownReadShare: 0.01, paceMs: 10_000 })).toEqual({
      pause: 10_000,
      pacedReads: 0,
      finished: 9,
    });
  });
});
