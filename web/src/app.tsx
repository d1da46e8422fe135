import type { ComponentType } from 'preact';
import { ErrorBoundary, LocationProvider, lazy, Route, Router } from 'preact-iso';
import { Layout } from './components/layout';
import { PagesOrError } from './components/page-error';
import { NotFound } from './pages/not-found';
import { Overview } from './pages/overview';
import { SignIn } from './pages/sign-in';
import { me } from './state/session';

/**
 * Pages past the first load their own chunk when opened. A chunk that fails to load (a dropped
 * connection, a busy server) is asked for again twice, after 0.3 s and 1 s. preact-iso's `lazy`
 * leaves a page whose chunk failed for good suspended for ever (a blank page); here that failure
 * becomes the page's render error instead, which the boundary below turns into a message with a
 * Reload button (page-error.tsx).
 */
const RETRY_AFTER_MS = [300, 1_000];

async function loadWithRetries<T>(load: () => Promise<T>): Promise<T> {
  for (const wait of RETRY_AFTER_MS) {
    try {
      return await load();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  return load();
}

function page<Props>(load: () => Promise<ComponentType<Props>>) {
  return lazy(() =>
    loadWithRetries(load).catch((error: unknown) => {
      const Unloadable = (_props: Props): never => {
        throw new Error(
          `The page's code could not be loaded (${(error as Error)?.message ?? String(error)}).`,
        );
      };
      return Unloadable;
    }),
  );
}

const Jobs = page(() => import('./pages/jobs').then((module) => module.Jobs));
const Failed = page(() => import('./pages/failed').then((module) => module.Failed));
const JobDetail = page(() => import('./pages/job-detail').then((module) => module.JobDetail));
const Workers = page(() => import('./pages/workers').then((module) => module.Workers));
const Metrics = page(() => import('./pages/metrics').then((module) => module.Metrics));
const Queues = page(() => import('./pages/queues').then((module) => module.Queues));
const Health = page(() => import('./pages/health').then((module) => module.Health));
const Alerts = page(() => import('./pages/alerts').then((module) => module.Alerts));
const Audit = page(() => import('./pages/audit').then((module) => module.Audit));
const Connections = page(() => import('./pages/connections').then((module) => module.Connections));
const SupervisorConfigs = page(() =>
  import('./pages/supervisor-configs').then((module) => module.SupervisorConfigs),
);
const Settings = page(() => import('./pages/settings').then((module) => module.Settings));

/**
 * Signed out (or expired), every URL shows the sign-in page in place: the address stays, so signing
 * in lands on the page that was asked for (a deep link, or where the session expired).
 */
export function App() {
  const user = me.value;
  if (user === undefined) {
    return (
      <p class="loading boot" role="status">
        Loading Watchtower…
      </p>
    );
  }
  return (
    <LocationProvider>
      {user === null ? (
        <SignIn />
      ) : (
        <Layout>
          {/* preact-iso's boundary waits for lazy pages; PagesOrError catches what breaks one. */}
          <ErrorBoundary>
            <PagesOrError>
              <Router>
                <Route path="/" component={Overview} />
                <Route path="/jobs" component={Jobs} />
                <Route path="/jobs/:id" component={JobDetail} />
                <Route path="/failed" component={Failed} />
                <Route path="/workers" component={Workers} />
                <Route path="/metrics" component={Metrics} />
                <Route path="/queues" component={Queues} />
                <Route path="/health" component={Health} />
                <Route path="/alerts" component={Alerts} />
                <Route path="/connections" component={Connections} />
                <Route path="/supervisors" component={SupervisorConfigs} />
                <Route path="/audit" component={Audit} />
                <Route path="/settings/:section?" component={Settings} />
                <Route default component={NotFound} />
              </Router>
            </PagesOrError>
          </ErrorBoundary>
        </Layout>
      )}
    </LocationProvider>
  );
}
