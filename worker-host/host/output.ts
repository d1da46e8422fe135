/**
 * All the worker-host's own output: the CLI's lines, the host's log, the worker processes' log and
 * the report of an uncaught error. Writing never throws and never fails the process.
 *
 * stdout and stderr may be pipes whose reader went away (a closed terminal, a log collector that
 * died). A write then fails with EPIPE, reported as an 'error' event on process.stdout/stderr;
 * unheard, that event is an uncaught exception, and Node's stdio streams are never destroyed, so
 * a handler that reports it on stderr fails again, and again, at 100% CPU, and the process never
 * gets to act on SIGTERM. Here every such error is heard, counted, and otherwise ignored; a stream
 * whose reader is gone for good is not written to again (its lines are only counted).
 */

type Stream = 'stdout' | 'stderr';

/** Errors after which nothing written to the stream can ever arrive. */
const GONE_FOR_GOOD = new Set(['EPIPE', 'EBADF', 'ECONNRESET', 'ENOTCONN', 'EIO', 'ERR_STREAM_DESTROYED']);

/** At most this many uncaught errors are reported per minute; the others are only counted. */
const UNCAUGHT_REPORTS_PER_MINUTE = 10;

const state = {
  guarded: false,
  gone: { stdout: false, stderr: false } as Record<Stream, boolean>,
  /** Lines (ours, or anyone's written to process.stdout/stderr) that could not be written. */
  logWriteErrors: 0,
  lastLogWriteError: null as string | null,
  uncaughtErrors: 0,
  uncaughtWindowStart: 0,
  uncaughtReported: 0,
  reporting: false,
};

function streamOf(name: Stream): NodeJS.WriteStream {
  return name === 'stdout' ? process.stdout : process.stderr;
}

function failed(name: Stream, error: unknown): void {
  state.logWriteErrors++;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  state.lastLogWriteError = `${name}: ${code ?? (error instanceof Error ? error.message : String(error))}`;
  if (code !== undefined && GONE_FOR_GOOD.has(code)) state.gone[name] = true;
}

/**
 * Listens for write errors on process.stdout and stderr, so that no write anywhere in the process
 * (console.log in a processor, a library's warning) can turn into an uncaught exception. Called
 * first thing by the CLI, in the host and in every worker process; calling it again does nothing.
 */
export function guardOutput(): void {
  if (state.guarded) return;
  state.guarded = true;
  for (const name of ['stdout', 'stderr'] as const) {
    streamOf(name).on('error', (error) => failed(name, error));
  }
}

function write(name: Stream, line: string): void {
  if (state.gone[name]) {
    state.logWriteErrors++;
    return;
  }
  guardOutput();
  try {
    // A failed write is reported both to this callback and as an 'error' event: counted once, there.
    streamOf(name).write(`${line}\n`);
  } catch (error) {
    failed(name, error);
  }
}

/** A line on stdout (what a command answers). */
export function printLine(line = ''): void {
  write('stdout', line);
}

/** A line on stderr (logs, errors). */
export function logLine(line: string): void {
  write('stderr', line);
}

/**
 * Reports an uncaught exception or unhandled rejection without ever failing itself: it writes
 * through `logLine`, ignores an error raised while it reports (it is never re-entered), and
 * reports at most UNCAUGHT_REPORTS_PER_MINUTE a minute, so a fault that repeats cannot flood the
 * log or keep the CPU busy with reports; every one is counted.
 */
export function reportUncaught(what: string, error: unknown): void {
  state.uncaughtErrors++;
  if (state.reporting) return;
  state.reporting = true;
  try {
    const now = Date.now();
    if (now - state.uncaughtWindowStart >= 60_000) {
      if (state.uncaughtReported > UNCAUGHT_REPORTS_PER_MINUTE) {
        logLine(
          `${state.uncaughtReported - UNCAUGHT_REPORTS_PER_MINUTE} more uncaught error(s) were not shown`,
        );
      }
      state.uncaughtWindowStart = now;
      state.uncaughtReported = 0;
    }
    if (++state.uncaughtReported <= UNCAUGHT_REPORTS_PER_MINUTE) {
      logLine(`${what}: ${describe(error)}`);
    }
  } catch {
    // Describing the error failed (a getter that throws): it is counted, and that is all.
  } finally {
    state.reporting = false;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack ?? error.message;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

/** For the host's stats: what could not be written, and the uncaught errors it survived. */
export function outputStats(): {
  logWriteErrors: number;
  lastLogWriteError: string | null;
  uncaughtErrors: number;
} {
  return {
    logWriteErrors: state.logWriteErrors,
    lastLogWriteError: state.lastLogWriteError,
    uncaughtErrors: state.uncaughtErrors,
  };
}
