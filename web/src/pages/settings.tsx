import { useRoute } from 'preact-iso';
import { isAdmin } from '../state/roles';
import { me } from '../state/session';
import { SettingsTokens } from './settings-tokens';
import { SettingsUsers } from './settings-users';
import '../components/stacked-table.css';
import './settings.css';

const SECTIONS = [
  { section: 'users', href: '/settings/users', label: 'Users' },
  { section: 'tokens', href: '/settings/tokens', label: 'API tokens' },
] as const;

/**
 * Settings, for admins: users and API tokens. Anyone else who opens the address is told it is for
 * admins; the API refuses their requests anyway and stays the authority. /settings opens users.
 */
export function Settings() {
  const { params } = useRoute();
  const section = params.section ?? 'users';
  if (!isAdmin.value) {
    return (
      <section aria-labelledby="settings-title">
        <h1 id="settings-title">Settings</h1>
        <div class="card admins-only" role="status">
          <p>
            <strong>Settings are for admins only.</strong> You are signed in as{' '}
            <span class="settings-who">{me.value?.actor.name}</span>, with the role{' '}
            <strong>{me.value?.actor.role ?? 'unknown'}</strong>. Ask an admin to change users or API tokens.
          </p>
          <p>
            <a href="/">Go to the overview</a>
          </p>
        </div>
      </section>
    );
  }
  const current = SECTIONS.find((candidate) => candidate.section === section);
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <nav class="settings-tabs" aria-label="Settings sections">
        <ul>
          {SECTIONS.map((candidate) => (
            <li key={candidate.section}>
              <a href={candidate.href} aria-current={candidate === current ? 'page' : undefined}>
                {candidate.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {current?.section === 'users' && <SettingsUsers />}
      {current?.section === 'tokens' && <SettingsTokens />}
      {current === undefined && (
        <p>
          There is no settings section here. <a href="/settings/users">Go to users</a>.
        </p>
      )}
    </section>
  );
}
