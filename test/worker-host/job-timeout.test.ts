import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { JobTimeoutError, withTimeout } from '../../worker-host/worker/processor';

/**
 * The timeout wrapper in isolation (worker-settings.test.ts runs it in a real worker process): one
 * sweep for all running jobs, so each case checks what a per-job timer used to guarantee.
 */
const job = (id: string) => ({ id }) as unknown as Job;
const never = () => new Promise<never>(() => undefined);

describe('withTimeout', () => {
  it('passes a result, an async failure and a synchronous throw through unchanged', async () => {
    const cancelled: string[] = [];
    const wrap = (processor: (job: Job) => unknown) =>
      withTimeout(processor as never, {
        timeoutSeconds: 5,
        cancel: (id) => cancelled.push(id),
        onHung: () => undefined,
      });
    await expect(wrap(async (j) => `done ${j.id}`)(job('1'), 't')).resolves.toBe('done 1');
    await expect(wrap(async () => Promise.reject(new Error('async')))(job('2'), 't')).rejects.toThrow(
      'async',
    );
    await expect(
      wrap(() => {
        throw new Error('sync');
      })(job('3'), 't'),
    ).rejects.toThrow('sync');
    expect(cancelled).toEqual([]);
  });

  it('fails an overdue job within a sweep of its limit, cancels it, and reports a processor that never stops', async () => {
    const cancelled: string[] = [];
    const hung: string[] = [];
    const timed = withTimeout(never, {
      timeoutSeconds: 0.2,
      hungAfterSeconds: 0.2,
      cancel: (id, reason) => cancelled.push(`${id}: ${reason}`),
      onHung: (j, detail) => hung.push(`${j.id}: ${detail}`),
    });
    const started = Date.now();
    const error = await timed(job('7'), 't').catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(JobTimeoutError);
    expect((error as Error).message).toBe('Job 7 timed out after 0.2 s');
    // Not before the limit; the sweep runs every quarter of it.
    expect(took).toBeGreaterThanOrEqual(195);
    expect(cancelled).toEqual(['7: Job 7 timed out after 0.2 s']);
    await expect
      .poll(() => hung, { timeout: 5_000 })
      .toEqual(['7: Job 7 timed out after 0.2 s and its processor did not stop within 0.2 s']);
  });

  it('times out only the jobs past their own deadline', async () => {
    const cancelled: string[] = [];
    const timed = withTimeout(
      (async (j: Job) => {
        if (j.id === 'slow') return never();
        await new Promise((resolve) => setTimeout(resolve, 50));
        return j.id;
      }) as never,
      {
        timeoutSeconds: 0.3,
        hungAfterSeconds: 60,
        cancel: (id) => cancelled.push(id),
        onHung: () => undefined,
      },
    );
    const slow = timed(job('slow'), 't').catch((e: unknown) => (e as Error).name);
    const quick = await Promise.all(['a', 'b', 'c'].map((id) => timed(job(id), 't')));
    expect(quick).toEqual(['a', 'b', 'c']);
    expect(await slow).toBe('JobTimeoutError');
    expect(cancelled).toEqual(['slow']);
  });

  it('keeps the processor’s arity, so BullMQ makes an AbortController only for one that takes a signal', () => {
    const options = { timeoutSeconds: 1, cancel: () => undefined, onHung: () => undefined };
    expect(withTimeout(async (_job) => 1, options).length).toBe(2);
    expect(withTimeout(async (_job, _token, _signal) => 1, options).length).toBe(3);
  });
});
