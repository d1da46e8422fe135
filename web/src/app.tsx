import { ErrorBoundary, LocationProvider, Route, Router } from 'preact-iso';
import { Layout } from './components/layout';
import { NotFound } from './pages/not-found';
import { Overview } from './pages/overview';
import { SignIn } from './pages/sign-in';
import { me } from './state/session';

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
              <Route default component={NotFound} />
            </Router>
          </ErrorBoundary>
        </Layout>
      )}
    </LocationProvider>
  );
}
