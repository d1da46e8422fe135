import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { User, UserList } from '../api/admin';
import { api, errorMessage } from '../api/client';
import { Banner } from '../components/banner';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { createPoller } from '../state/poller';
import { me } from '../state/session';
import { ChangeRoleDialog, CreateUserDialog, DisableUserDialog } from './settings-user-dialogs';

type Open = { kind: 'create' } | { kind: 'role'; user: User } | { kind: 'disable'; user: User } | null;
type Said = { tone: 'ok' | 'error'; text: string; userId?: string };

/** Users: who can sign in, with which role; create, change role, disable and enable. */
export function SettingsUsers() {
  const location = useLocation();
  const cursor = location.query.cursor?.trim() || undefined;
  const poller = useMemo(
    () =>
      createPoller<UserList>((headers) =>
        api.api.users.$get({ query: cursor === undefined ? {} : { cursor } }, { headers }),
      ),
    [cursor],
  );
  useEffect(() => poller.start(), [poller]);
  const list = poller.data.value;
  const error = poller.error.value;
  const now = poller.serverTime.value ?? Date.now();
  const open = useSignal<Open>(null);
  const said = useSignal<Said | null>(null);
  const busy = useSignal<string | null>(null);

  function done(text: string, userId?: string) {
    said.value = { tone: 'ok', text, userId };
    open.value = null;
    poller.refresh();
  }

  async function enable(user: User) {
    busy.value = user.id;
    said.value = null;
    try {
      const response = await api.api.users[':id'].$patch({
        param: { id: user.id },
        json: { disabled: false },
      });
      if (response.ok) done(`${user.email} is enabled again and can sign in.`, user.id);
      else said.value = { tone: 'error', text: await errorMessage(response), userId: user.id };
    } catch {
      said.value = { tone: 'error', text: 'The server cannot be reached', userId: user.id };
    } finally {
      busy.value = null;
    }
  }

  const selfId = me.value?.user?.id;
  return (
    <section aria-labelledby="users-title">
      <div class="settings-head">
        <h2 id="users-title">Users</h2>
        <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
          Create user
        </button>
      </div>
      {said.value && said.value.userId === undefined && (
        <p class={`outcome outcome-${said.value.tone}`} role="status">
          {said.value.text}
        </p>
      )}
      {error !== null && (
        <Banner tone={list ? 'warning' : 'error'}>
          <strong>{list ? 'Connection lost, retrying.' : 'Cannot load the users, retrying.'}</strong> {error}
        </Banner>
      )}
      {list === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {list.users.length === 0 ? (
            <p class="empty">No users yet.</p>
          ) : (
            <TableScroll label="Users">
              <table class="stacked-table">
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last sign-in</th>
                    <th scope="col">Created</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {list.users.map((user) => (
                    <tr key={user.id} data-user-email={user.email}>
                      <td class="cell-text stack-title" data-label="User">
                        <span class="cell-main">{user.email}</span>
                        {user.name && <span class="cell-sub">{user.name}</span>}
                        {!user.hasPassword && <span class="cell-sub"> · Cloudflare Access only</span>}
                      </td>
                      <td data-label="Role">{user.role}</td>
                      <td class="stack-aside" data-label="Status">
                        <span class={`status ${user.disabled ? 'status-failed' : 'status-completed'}`}>
                          {user.disabled ? 'disabled' : 'active'}
                        </span>
                      </td>
                      <td data-label="Last sign-in">
                        <RelativeTime at={user.lastLoginAt} now={now} />
                      </td>
                      <td data-label="Created">
                        <RelativeTime at={user.createdAt} now={now} />
                      </td>
                      <td class="settings-actions stack-bare" data-label="Actions">
                        {user.id === selfId ? (
                          <span class="cell-sub">You (another admin can change you)</span>
                        ) : (
                          <>
                            <button
                              type="button"
                              aria-label={`Change role of ${user.email}`}
                              onClick={() => (open.value = { kind: 'role', user })}
                            >
                              Change role
                            </button>
                            {user.disabled ? (
                              <button
                                type="button"
                                aria-label={`Enable ${user.email}`}
                                disabled={busy.value === user.id}
                                onClick={() => void enable(user)}
                              >
                                Enable
                              </button>
                            ) : (
                              <button
                                type="button"
                                class="button-danger-quiet"
                                aria-label={`Disable ${user.email}`}
                                onClick={() => (open.value = { kind: 'disable', user })}
                              >
                                Disable
                              </button>
                            )}
                          </>
                        )}
                        {said.value?.userId === user.id && (
                          <p class={`outcome outcome-${said.value.tone}`} role="status">
                            {said.value.text}
                          </p>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
          <nav class="pager" aria-label="Pages of users">
            {cursor && (
              <a href="/settings/users" class="button">
                ← First page
              </a>
            )}
            {list.nextCursor && (
              <a
                href={`/settings/users?cursor=${encodeURIComponent(list.nextCursor)}`}
                class="button"
                rel="next"
              >
                Next page →
              </a>
            )}
          </nav>
        </div>
      )}
      <CreateUserDialog
        open={open.value?.kind === 'create'}
        onClose={() => (open.value = null)}
        onCreated={(user) => done(`Created ${user.email} (${user.role}).`)}
      />
      <ChangeRoleDialog
        user={open.value?.kind === 'role' ? open.value.user : null}
        onClose={() => (open.value = null)}
        onChanged={(user) => done(`${user.email} is now ${user.role}.`, user.id)}
      />
      <DisableUserDialog
        user={open.value?.kind === 'disable' ? open.value.user : null}
        onClose={() => (open.value = null)}
        onDisabled={(user) => done(`${user.email} is disabled: their sessions ended.`, user.id)}
      />
    </section>
  );
}
