import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Job, Processor } from 'bullmq';

/** The user's processor module cannot be used; the worker process exits and says why. */
export class ProcessorError extends Error {
  override readonly name = 'ProcessorError';
}

/** Imports the module whose default export is `async (job) => result` (ESM, CJS or TypeScript). */
export async function loadProcessor(path: string): Promise<Processor> {
  const absolute = isAbsolute(path) ? path : resolve(path);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
  } catch (error) {
    throw new ProcessorError(`Cannot load processor ${absolute}: ${(error as Error).message}`);
  }
  let candidate = module.default;
  // CommonJS `module.exports = { default: fn }` arrives one level deeper.
  if (candidate && typeof candidate === 'object' && 'default' in candidate) {
    candidate = (candidate as { default: unknown }).default;
  }
  if (typeof candidate !== 'function') {
    throw new ProcessorError(
      `Processor ${absolute} must have a default export that is a function (job) => result, got ${typeof candidate}`,
    );
  }
  return candidate as Processor;
}

export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
}

export interface TimeoutOptions {
  /** Seconds a job may run; 0 for no limit. */
  timeoutSeconds: number;
  /** Asks the processor to give up (BullMQ's `worker.cancelJob`, which aborts the job's signal). */
  cancel: (jobId: string, reason: string) => void;
  /** Seconds a processor may keep running after its job timed out before `onHung` is called. */
  hungAfterSeconds?: number;
  /**
   * The processor ignored the timeout and its abort signal: the code is stuck. JavaScript cannot
   * kill one function, so the worker process leaves and its supervisor starts a fresh one, as
   * Horizon kills a worker whose job overran.
   */
  onHung: (job: Job, detail: string) => void;
}

/**
 * Fails a job that runs longer than the timeout. The job is failed at once (so it can be retried
 * elsewhere); the process only goes away if the processor does not stop when asked.
 *
 * One sweep checks every running job's deadline, instead of a timer per job: at thousands of jobs
 * a second, arming and clearing a timer and the promises around it cost the worker process about
 * 1 µs a job. A job therefore times out within a sweep (a quarter of the limit, at most a second)
 * after its limit.
 */
export function withTimeout(processor: Processor, options: TimeoutOptions): Processor {
  const limitMs = options.timeoutSeconds * 1000;
  if (!(limitMs > 0)) return processor;
  const hungAfterMs = (options.hungAfterSeconds ?? Math.min(Math.max(options.timeoutSeconds, 1), 10)) * 1000;
  const sweepMs = Math.max(10, Math.min(1000, limitMs / 4));
  const running = new Map<Job, { deadline: number; reject: (error: Error) => void; settled: boolean }>();
  let sweeper: ReturnType<typeof setInterval> | undefined;

  function sweep(): void {
    const now = Date.now();
    for (const [job, entry] of running) {
      if (entry.deadline > now) continue;
      running.delete(job);
      const message = `Job ${job.id} timed out after ${options.timeoutSeconds} s`;
      options.cancel(String(job.id), message);
      entry.reject(new JobTimeoutError(message));
      setTimeout(() => {
        if (!entry.settled) {
          options.onHung(job, `${message} and its processor did not stop within ${hungAfterMs / 1000} s`);
        }
      }, hungAfterMs).unref();
    }
  }

  const timed: Processor = (job, token, signal) =>
    new Promise((resolvePromise, reject) => {
      const entry = { deadline: Date.now() + limitMs, reject, settled: false };
      running.set(job, entry);
      if (!sweeper) {
        sweeper = setInterval(sweep, sweepMs);
        // Never the reason a worker process stays alive.
        sweeper.unref();
      }
      let result: ReturnType<Processor>;
      try {
        result = processor(job, token, signal);
      } catch (error) {
        result = Promise.reject(error);
      }
      Promise.resolve(result).then(
        (value) => {
          entry.settled = true;
          running.delete(job);
          resolvePromise(value);
        },
        (error: unknown) => {
          entry.settled = true;
          running.delete(job);
          reject(error);
        },
      );
    });
  // BullMQ gives a job an AbortController only when the processor declares a third parameter
  // (`processor.length >= 3`). The wrapper keeps the user's arity: a processor that takes no signal
  // would never read one, and making it cost the worker process 4 ms per 1,000 jobs (--cpu-prof).
  return processor.length >= 3 ? timed : (job, token) => timed(job, token);
}
