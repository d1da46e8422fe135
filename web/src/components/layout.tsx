import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { isAdmin } from '../state/roles';
import { me, signOut } from '../state/session';
import { POLL_INTERVALS, pollIntervalSeconds, THEMES, type Theme, theme } from '../state/settings';
import { AlertsBadge } from './alerts-badge';

const PAGES: ReadonlyArray<{ href: string; label: string; adminOnly?: boolean }> = [
  { href: '/', label: 'Overview' },
  { href: '/jobs', label: 'Jobs' },
  { href: '/failed', label: 'Failed' },
  { href: '/queues', label: 'Queues' },
  { href: '/workers', label: 'Workers' },
  { href: '/metrics', label: 'Metrics' },
  { href: '/health', label: 'Health' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/connections', label: 'Connections' },
  { href: '/supervisors', label: 'Supervisors' },
  { href: '/audit', label: 'Audit' },
  { href: '/settings', label: 'Settings', adminOnly: true },
];

/** The page a path belongs to: /jobs/42 is under Jobs. */
function isCurrent(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

export function Layout({ children }: { children: ComponentChildren }) {
  const { path } = useLocation();
  const user = me.value;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          Watchtower
        </a>
        <nav aria-label="Pages">
          <ul>
            {PAGES.filter((page) => !page.adminOnly || isAdmin.value).map((page) => (
              <li key={page.href} class={page.href === '/alerts' ? 'nav-alerts' : undefined}>
                <a href={page.href} aria-current={isCurrent(page.href, path) ? 'page' : undefined}>
                  {page.label}
                </a>
                {/* The count of firing alerts sits by the Alerts page's link, on every page. */}
                {page.href === '/alerts' && <AlertsBadge />}
              </li>
            ))}
          </ul>
        </nav>
        <div class="controls">
          <label>
            <span class="control-label">Refresh</span>
            <select
              value={pollIntervalSeconds.value}
              onChange={(event) => {
                const value = event.currentTarget.value;
                const choice = POLL_INTERVALS.find((interval) => interval === value);
                if (choice) pollIntervalSeconds.value = choice;
              }}
            >
              {POLL_INTERVALS.map((seconds) => (
                <option key={seconds} value={seconds}>
                  every {seconds} s
                </option>
              ))}
            </select>
          </label>
          <label>
            <span class="control-label">Theme</span>
            <select
              value={theme.value}
              onChange={(event) => {
                const value = event.currentTarget.value;
                const choice = THEMES.find((name): name is Theme => name === value);
                if (choice) theme.value = choice;
              }}
            >
              {THEMES.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          {user && (
            <span class="user">
              <span class="user-name" title={`Role: ${user.actor.role}`}>
                {user.actor.name}
              </span>
              <button type="button" class="button-quiet" onClick={() => void signOut()}>
                Sign out
              </button>
            </span>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
