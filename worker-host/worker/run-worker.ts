import type { Job, Worker } from 'bullmq';
import { logLine } from '../host/output';
import { attachJobEvents, type JobEventsHandle } from '../recorder/worker-job-events';
import type { WorkerSpec } from '../supervisor/worker-spec';
import {
  EXIT_STOPPED,
  EXIT_UNUSABLE,
  isControlMessage,
  type WorkerControlAction,
  type WorkerLeavingMessage,
  type WorkerProcessStatus,
  type WorkerToSupervisor,
} from './ipc-messages';
import { loadProcessor, ProcessorError, withTimeout } from './processor';
import { createWorker } from './queue-backend';

/**
 * Everything one worker process needs: its slot's WorkerSpec, which the supervisor passes on the
 * command line and in env, and its id.
 */
export interface WorkerRunOptions extends Omit<WorkerSpec, 'passEnv'> {
  workerId: string;
  /** Start without taking jobs (the slot was paused when this process was started). */
  paused?: boolean;
  /** Where job events go: the supervisor over IPC, or a recorder in this process when standalone. */
  send?: (message: unknown) => void;
  log?: (line: string) => void;
}

const STATE_EVERY_MS = 1000;
/**
 * After a job, the state goes out within this long, not at once: at thousands of jobs a second a
 * message per job cost the worker process more CPU than running the job (measured with --cpu-prof
 * under `npm run bench:shipped`: 22 ms per 1,000 jobs in the worker, and as much again for the
 * supervisor to read them), and nobody reads the counts that often.
 */
const STATE_AFTER_JOB_MS = 200;
/**
 * The memory limit is checked between jobs, at most this often: reading RSS is a read of
 * /proc/self/stat (14 ms per 1,000 jobs when done after each), and RSS does not jump within a second.
 */
const MEMORY_CHECK_EVERY_MS = 1000;
const PARENT_CHECK_EVERY_MS = 1000;

/**
 * A worker process: one BullMQ Worker running the user's processor, steered by its supervisor
 * over IPC (pause, resume, stop) and reporting its state every second and on every change.
 *
 * It exits by itself when its supervisor goes away (the IPC channel closes, or its parent pid
 * changes), so killing a supervisor never leaves worker processes running. Signal handlers and IPC
 * messages only set flags; `tick` is the one place that acts on them.
 */
export async function runWorker(options: WorkerRunOptions): Promise<number> {
  const log = options.log ?? logLine;
  const prefix = `[worker ${options.workerId.slice(0, 8)} ${options.queue}]`;
  const underSupervisor = typeof process.send === 'function';
  const toSupervisor = (message: WorkerToSupervisor | Record<string, unknown>): Promise<void> =>
    new Promise((resolve) => {
      if (!process.send || !process.connected) return resolve();
      try {
        process.send(message, undefined, {}, () => resolve());
      } catch {
        resolve();
      }
    });

  let status: WorkerProcessStatus = 'starting';
  let processed = 0;
  let failed = 0;
  let busyMs = 0;
  // Job id → when it became active here.
  const currentJobs = new Map<string, number>();
  let pausedByCommand = options.paused === true;
  let resting = false;
  let leaving: WorkerLeavingMessage | undefined;
  const requested = new Set<WorkerControlAction>();
  let parentGone = false;
  let stopping: Promise<number> | undefined;
  let worker: Worker | undefined;
  let jobEvents: JobEventsHandle | undefined;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });

  // Listeners first: a stop or pause sent while the processor module loads is kept, not lost.
  const onSignal = (signal: NodeJS.Signals) => {
    // Under a supervisor, Ctrl-C reaches the whole process group; the supervisor decides.
    if (signal === 'SIGINT' && underSupervisor) return;
    requested.add('stop');
    tick();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (underSupervisor) {
    process.on('message', (message) => {
      if (!isControlMessage(message)) return;
      requested.add(message.action);
      tick();
    });
    process.on('disconnect', () => {
      parentGone = true;
      tick();
    });
  }
  // A backstop for the IPC channel: a parent killed with SIGKILL re-parents this process.
  const parentPid = process.ppid;
  const parentWatch = setInterval(() => {
    if (underSupervisor && process.ppid !== parentPid) {
      parentGone = true;
      tick();
    }
  }, PARENT_CHECK_EVERY_MS);
  parentWatch.unref();

  // RSS read at most once a second (a read of /proc/self/stat, dear at thousands of jobs a second).
  let rssBytes = 0;
  let rssReadAt = 0;
  const residentBytes = (): number => {
    const now = Date.now();
    if (now - rssReadAt >= MEMORY_CHECK_EVERY_MS) {
      rssBytes = process.memoryUsage.rss();
      rssReadAt = now;
    }
    return rssBytes;
  };

  let processor: Awaited<ReturnType<typeof loadProcessor>>;
  try {
    processor = await loadProcessor(options.processorPath);
  } catch (error) {
    const detail = error instanceof ProcessorError ? error.message : String(error);
    log(`${prefix} ${detail}`);
    await toSupervisor({ type: 'worker-leaving', workerId: options.workerId, reason: 'fatal', detail });
    clearInterval(parentWatch);
    return EXIT_UNUSABLE;
  }

  const state = () =>
    toSupervisor({
      type: 'worker-state',
      workerId: options.workerId,
      status,
      pid: process.pid,
      currentJobs: [...currentJobs.keys()],
      processed,
      failed,
      busyMs,
      memoryBytes: residentBytes(),
    });

  const leave = (reason: WorkerLeavingMessage['reason'], detail: string) => {
    if (leaving) return;
    leaving = { type: 'worker-leaving', workerId: options.workerId, reason, detail };
    log(`${prefix} leaving: ${detail}`);
    void toSupervisor(leaving);
    requested.add('stop');
    tick();
  };

  const timed = withTimeout(processor, {
    timeoutSeconds: options.timeout,
    cancel: (jobId, reason) => worker?.cancelJob(jobId, reason),
    onHung: (_job, detail) => {
      // The stuck code cannot be interrupted: leave now, without waiting for it.
      leave('timeout', detail);
      jobEvents?.close();
      void state().then(() => process.exit(EXIT_STOPPED));
    },
  });

  const current = createWorker(options.connectionUrl, options.queue, timed, {
    concurrency: options.concurrency,
    drainDelay: Math.max(options.sleep, 0.05),
    name: options.workerId,
    autorun: !pausedByCommand,
    lockDuration: options.lockDuration * 1000,
    stalledInterval: options.stalledInterval * 1000,
  });
  worker = current;

  let lastErrorLog = '';
  let lastErrorAt = 0;
  // Without an error listener a Redis hiccup is an unhandled 'error' event and kills the process.
  current.on('error', (error) => {
    const now = Date.now();
    if (error.message !== lastErrorLog || now - lastErrorAt > 10_000) {
      log(`${prefix} BullMQ error: ${error.message}`);
      lastErrorLog = error.message;
      lastErrorAt = now;
    }
  });
  current.on('active', (job) => {
    currentJobs.set(String(job.id), Date.now());
  });
  const finished = (job: Job | undefined) => {
    const id = job ? String(job.id) : undefined;
    const startedAt = id === undefined ? undefined : currentJobs.get(id);
    if (id !== undefined && startedAt !== undefined) {
      busyMs += Date.now() - startedAt;
      currentJobs.delete(id);
    }
    afterJob();
  };
  current.on('completed', (job) => {
    processed++;
    finished(job);
  });
  current.on('failed', (job) => {
    failed++;
    finished(job);
    if (job) void retryWithWorkerTries(job);
  });

  const send = options.send ?? ((message: unknown) => void toSupervisor(message as Record<string, unknown>));
  jobEvents = attachJobEvents(
    current,
    {
      connection: options.connection,
      queue: options.queue,
      workerId: options.workerId,
      hostId: options.hostId,
      tries: options.tries,
    },
    send,
    { payloadCap: options.payloadCap },
  );

  // `tries` is the worker's default for jobs that do not say (BullMQ stores an unset `attempts`
  // as 0 and runs such a job once): a job without it is put back until it ran `tries` times.
  async function retryWithWorkerTries(job: Job): Promise<void> {
    if ((job.opts.attempts ?? 0) > 0 || job.attemptsMade >= options.tries || stopping) return;
    try {
      await job.retry('failed');
    } catch (error) {
      log(
        `${prefix} could not retry job ${job.id} (${job.attemptsMade} of ${options.tries} tries): ${(error as Error).message}`,
      );
    }
  }

  let stateTimer: ReturnType<typeof setTimeout> | undefined;
  /** One state message for every job that ended within STATE_AFTER_JOB_MS. */
  function stateSoon(): void {
    if (stateTimer) return;
    stateTimer = setTimeout(() => {
      stateTimer = undefined;
      void state();
    }, STATE_AFTER_JOB_MS);
    stateTimer.unref();
  }

  function afterJob(): void {
    // Memory is checked between jobs, so a restart never cuts a job off.
    if (options.memory > 0 && !leaving) {
      const rss = residentBytes();
      if (rss > options.memory * 1024 * 1024) {
        leave('memory', `RSS ${Math.round(rss / 1048576)} MB is over the ${options.memory} MB limit`);
        return;
      }
    }
    if (options.rest > 0 && !resting && !stopping) {
      resting = true;
      void current.pause(true).then(() => {
        setTimeout(() => {
          resting = false;
          if (!pausedByCommand && !stopping) void current.resume();
        }, options.rest * 1000);
      });
    }
    stateSoon();
  }

  const stop = async (): Promise<number> => {
    status = 'stopping';
    await state();
    // close() lets the current jobs finish; a supervisor that is still there forces the rest
    // after its grace period. Without one nobody would, so the process forces itself.
    const graceful = current.close().then(() => true);
    const done = parentGone
      ? await Promise.race([
          graceful,
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), options.graceSeconds * 1000)),
        ])
      : await graceful;
    if (!done) await current.close(true).catch(() => undefined);
    // What the recorder's hook still holds goes out before the process does.
    jobEvents?.close();
    await state();
    return done ? EXIT_STOPPED : 1;
  };

  function tick(): void {
    try {
      if (!worker) return; // still loading: the flags wait for the worker to exist
      if (parentGone || requested.has('stop')) {
        if (!stopping) {
          stopping = stop().catch((error: unknown) => {
            log(`${prefix} stop failed: ${(error as Error).message}`);
            return 1;
          });
          void stopping.then(resolveExit);
        }
        return;
      }
      if (requested.delete('pause')) {
        pausedByCommand = true;
        // Not pause(true): that leaves the blocking fetch open, and a job arriving within `sleep`
        // would still be taken after we said paused. pause() cuts the fetch, then waits for the
        // running jobs, so `paused` is only reported once no job runs and none will be taken.
        void current.pause().then(() => {
          status = 'paused';
          return state();
        });
      }
      if (requested.delete('resume')) {
        pausedByCommand = false;
        resting = false;
        void current.resume().then(() => {
          status = 'running';
          return state();
        });
      }
    } catch (error) {
      log(`${prefix} ${(error as Error).message}`);
    }
  }

  await current.waitUntilReady();
  if (!stopping) status = pausedByCommand ? 'paused' : 'running';
  await state();
  tick();
  const reporter = setInterval(() => void state(), STATE_EVERY_MS);
  reporter.unref();

  const code = await exited;
  clearInterval(reporter);
  clearInterval(parentWatch);
  return code;
}
