import { type ReadonlySignal, signal } from '@preact/signals';
import { errorMessage } from '../api/client';
import { pollIntervalMs } from './settings';

export interface Poller<T> {
  /** The last good answer; kept through failures, so a lost connection never blanks the page. */
  readonly data: ReadonlySignal<T | undefined>;
  /** Why the last request failed, or null when it succeeded. */
  readonly error: ReadonlySignal<string | null>;
  /** The server's clock (Date header) at the last answer (200 or 304), to age timestamps against. */
  readonly serverTime: ReadonlySignal<number | null>;
  /** Starts polling (at once) and returns the function that stops it. */
  start(): () => void;
  /** Asks again now (after an action); if a request is on its way, once more as soon as it ends. */
  refresh(): void;
}

/** What the poller reads of an answer: a fetch Response, or hono/client's typed one. */
export type Answer = Pick<Response, 'ok' | 'status' | 'statusText' | 'headers' | 'json'>;
type Request = (headers: Record<string, string>) => Promise<Answer>;

/**
 * Polls `request` every `pollIntervalMs`:
 * - one request at a time: the next is scheduled only when the previous one has ended;
 * - not while the tab is hidden: it resumes, at once, when the tab is shown again;
 * - with the last ETag in If-None-Match, so an unchanged answer is a body-less 304;
 * - a failure keeps the data on screen, sets `error` and retries on the same schedule.
 * Several components may start it; it runs while at least one has it started.
 */
export function createPoller<T>(request: Request): Poller<T> {
  const data = signal<T | undefined>(undefined);
  const error = signal<string | null>(null);
  const serverTime = signal<number | null>(null);
  let users = 0;
  let inFlight = false;
  // A refresh asked for while a request is out: that answer may predate the action, so ask again.
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let etag: string | null = null;

  async function tick(): Promise<void> {
    timer = undefined;
    if (users === 0 || inFlight || document.hidden) return;
    inFlight = true;
    try {
      const response = await request(etag ? { 'if-none-match': etag } : {});
      if (response.status === 304) {
        serverTime.value = dateOf(response);
        error.value = null;
      } else if (response.ok) {
        const body = (await response.json()) as T;
        etag = response.headers.get('etag');
        serverTime.value = dateOf(response);
        data.value = body;
        error.value = null;
      } else {
        error.value = await errorMessage(response);
      }
    } catch {
      error.value = 'The server cannot be reached';
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        clearTimeout(timer);
        timer = undefined;
        void tick();
      } else {
        schedule();
      }
    }
  }

  function schedule(): void {
    if (timer !== undefined || users === 0 || document.hidden) return;
    timer = setTimeout(() => void tick(), pollIntervalMs.peek());
  }

  function onVisibility(): void {
    if (document.hidden) {
      clearTimeout(timer);
      timer = undefined;
    } else if (!inFlight) {
      clearTimeout(timer);
      void tick();
    }
  }

  return {
    data,
    error,
    serverTime,
    refresh() {
      if (users === 0) return;
      if (inFlight) {
        again = true;
        return;
      }
      clearTimeout(timer);
      void tick();
    },
    start() {
      users++;
      if (users === 1) {
        document.addEventListener('visibilitychange', onVisibility);
        void tick();
      }
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        users--;
        if (users === 0) {
          document.removeEventListener('visibilitychange', onVisibility);
          clearTimeout(timer);
          timer = undefined;
        }
      };
    },
  };
}

function dateOf(response: Answer): number {
  const date = Date.parse(response.headers.get('date') ?? '');
  return Number.isNaN(date) ? Date.now() : date;
}
