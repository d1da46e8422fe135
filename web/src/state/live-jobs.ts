import { computed, type ReadonlySignal, signal } from '@preact/signals';
import { api, type JobList } from '../api/client';
import type { JobFilters } from '../lib/job-filters';
import { createPoller, type Poller } from './poller';

export interface NewJobs {
  count: number;
  /** The whole re-checked page is new: there are at least `count`. */
  atLeast: boolean;
}

export interface LiveJobs {
  readonly poller: Poller<JobList>;
  /** The rows on screen, in the order they were taken in; their status and times kept current. */
  readonly shown: ReadonlySignal<JobList | undefined>;
  /** Jobs the re-checked page has above the rows on screen, waiting for "Show". */
  readonly newJobs: ReadonlySignal<NewJobs>;
  /** Takes in the latest page: the new jobs come in on top. */
  showNew(): void;
  /** Starts re-checking (at once) and returns the function that stops it. */
  start(): () => void;
}

const NONE: NewJobs = { count: 0, atLeast: false };

/**
 * One page of the jobs list, re-checked on the poll schedule (createPoller: one request at a time,
 * none while the tab is hidden), without moving rows under the reader: rows already on screen
 * change in place (a status, a run time), and a new job never slips in. With `announce` (the first
 * page, newest first) the jobs that arrived above the rows on screen are counted for the page to
 * announce; elsewhere (oldest first, a later page) new rows belong below or on another page and
 * are simply not shown until the page is opened again.
 */
export function createLiveJobs(filters: JobFilters, announce: boolean): LiveJobs {
  const poller = createPoller<JobList>((headers) => api.api.jobs.$get({ query: filters }, { headers }));
  const taken = signal<JobList | undefined>(undefined);

  const shown = computed(() => {
    const base = taken.value;
    const latest = poller.data.value;
    if (base === undefined || latest === undefined || latest === base) return base;
    const current = new Map(latest.jobs.map((job) => [job.id, job]));
    return { ...base, jobs: base.jobs.map((job) => current.get(job.id) ?? job) };
  });

  const newJobs = computed((): NewJobs => {
    const base = taken.value;
    const latest = poller.data.value;
    if (!announce || base === undefined || latest === undefined || latest === base) return NONE;
    const onScreen = new Set(base.jobs.map((job) => job.id));
    // The page is newest first: what is new sits above the last row still on screen. Below it,
    // a row not on screen is one the shorter page left to the next page (or one queued late).
    let lastShared = -1;
    latest.jobs.forEach((job, index) => {
      if (onScreen.has(job.id)) lastShared = index;
    });
    const wholePage = lastShared === -1;
    const above = wholePage ? latest.jobs : latest.jobs.slice(0, lastShared);
    // A screen that held every match (no next page) takes whatever is not on it.
    const candidates = base.nextCursor === null ? latest.jobs : above;
    const count = candidates.filter((job) => !onScreen.has(job.id)).length;
    return { count, atLeast: wholePage && base.jobs.length > 0 && latest.nextCursor !== null };
  });

  return {
    poller,
    shown,
    newJobs,
    showNew() {
      const latest = poller.data.peek();
      if (latest !== undefined) taken.value = latest;
    },
    start() {
      // The first answer is taken in as it is; later ones only through showNew().
      const unsubscribe = poller.data.subscribe((latest) => {
        if (latest !== undefined && taken.peek() === undefined) taken.value = latest;
      });
      const stop = poller.start();
      return () => {
        stop();
        unsubscribe();
      };
    },
  };
}
