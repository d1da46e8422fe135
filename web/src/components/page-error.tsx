import { Component, type ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { Banner } from './banner';

/**
 * What broke the page being shown: its code could not be loaded (a deploy replaced its chunk, the
 * network dropped; app.tsx turns that into a render error) or it threw while rendering. Without
 * this the whole dashboard went blank. Kept with the address it happened at: going to another page
 * shows that page.
 */
interface Failure {
  error: Error;
  url: string;
}

class PageErrorBoundary extends Component<
  { url: string; children: ComponentChildren },
  { failure?: Failure }
> {
  static override getDerivedStateFromError(error: unknown): { failure: Failure } {
    return {
      failure: {
        error: error instanceof Error ? error : new Error(String(error)),
        url: window.location.pathname + window.location.search,
      },
    };
  }

  override render() {
    const { failure } = this.state;
    if (failure && failure.url === this.props.url) return <PageError error={failure.error} />;
    return this.props.children;
  }
}

/** The pages, or what broke the one at this address instead of rendering it again. */
export function PagesOrError({ children }: { children: ComponentChildren }) {
  const { url } = useLocation();
  return <PageErrorBoundary url={url}>{children}</PageErrorBoundary>;
}

/** A failed chunk stays failed until the page is loaded again: the reload is the way out. */
function PageError({ error }: { error: Error }) {
  return (
    <section aria-labelledby="page-error-title">
      <h1 id="page-error-title">This page could not be shown</h1>
      <Banner tone="error">
        <p>{error.message || 'Something went wrong while showing this page.'}</p>
        <p>
          If Watchtower was just updated, reloading fetches the new version. Other pages still work from the
          menu.
        </p>
      </Banner>
      <button type="button" onClick={() => window.location.reload()}>
        Reload
      </button>
    </section>
  );
}
