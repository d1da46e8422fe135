import { ErrorBoundary, LocationProvider, lazy, Route, Router } from 'preact-iso';
import { Layout } from './components/layout';
import { NotFound } from './pages/not-found';
import { Overview } from './pages/overview';
import { SignIn } from './pages/sign-in';
import { me } from './state/session';

// Pages past the first load their own chunk when opened.
const Jobs = lazy(() => import('./pages/jobs').then((module) => module.Jobs));
const Failed = lazy(() => import('./pages/failed').then((module) => module.Failed));
const JobDetail = lazy(() => import('./pages/job-detail').then((module) => module.JobDetail));
const Workers = lazy(() => import('./pages/workers').then((module) => module.Workers));
const Metrics = lazy(() => import('./pages/metrics').then((module) => module.Metrics));
const Queues = lazy(() => import('./pages/queues').then((module) => module.Queues));
const Health = lazy(() => import('./pages/health').then((module) => module.Health));
const Audit = lazy(() => import('./pages/audit').then((module) => module.Audit));
const Settings = lazy(() => import('./pages/settings').then((module) => module.Settings));

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
          <ErrorBoundary>
            <Router>
              <Route path="/" component={Overview} />
              <Route path="/jobs" component={Jobs} />
              <Route path="/jobs/:id" component={JobDetail} />
              <Route path="/failed" component={Failed} />
              <Route path="/workers" component={Workers} />
              <Route path="/metrics" component={Metrics} />
              <Route path="/queues" component={Queues} />
              <Route path="/health" component={Health} />
              <Route path="/audit" component={Audit} />
              <Route path="/settings/:section?" component={Settings} />
              <Route default component={NotFound} />
            </Router>
          </ErrorBoundary>
        </Layout>
      )}
    </LocationProvider>
  );
}
