import { useSignal } from '@preact/signals';
import { useEffect, useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { ApiToken, TokenList } from '../api/admin';
import { api } from '../api/client';
import { Banner } from '../components/banner';
import { RelativeTime } from '../components/relative-time';
import { TableScroll } from '../components/table-scroll';
import { formatAbsolute, formatAge } from '../lib/format';
import { createPoller } from '../state/poller';
import { CreateTokenDialog, RevokeTokenDialog } from './settings-token-dialogs';

type Open = { kind: 'create' } | { kind: 'revoke'; token: ApiToken } | null;

function tokensUrl(includeRevoked: boolean, cursor?: string): string {
  const params = new URLSearchParams();
  if (includeRevoked) params.set('includeRevoked', 'true');
  if (cursor) params.set('cursor', cursor);
  const search = params.toString();
  return search ? `/settings/tokens?${search}` : '/settings/tokens';
}

/** API tokens for automation: role, creator, expiry, last use; create (secret shown once) and revoke. */
export function SettingsTokens() {
  const location = useLocation();
  const includeRevoked = location.query.includeRevoked === 'true';
  const cursor = location.query.cursor?.trim() || undefined;
  const poller = useMemo(
    () =>
      createPoller<TokenList>((headers) =>
        api.api.tokens.$get(
          {
            query: {
              ...(includeRevoked ? { includeRevoked: 'true' as const } : {}),
              ...(cursor === undefined ? {} : { cursor }),
            },
          },
          { headers },
        ),
      ),
    [includeRevoked, cursor],
  );
  useEffect(() => poller.start(), [poller]);
  const list = poller.data.value;
  const error = poller.error.value;
  const now = poller.serverTime.value ?? Date.now();
  const open = useSignal<Open>(null);
  const said = useSignal<string | null>(null);

  return (
    <section aria-labelledby="tokens-title">
      <div class="settings-head">
        <h2 id="tokens-title">API tokens</h2>
        <button type="button" class="button-primary" onClick={() => (open.value = { kind: 'create' })}>
          Create token
        </button>
        <label class="settings-toggle">
          <input
            type="checkbox"
            checked={includeRevoked}
            onChange={(event) => location.route(tokensUrl(event.currentTarget.checked))}
          />
          Show revoked tokens
        </label>
      </div>
      {said.value !== null && (
        <p class="outcome outcome-ok" role="status">
          {said.value}
        </p>
      )}
      {error !== null && (
        <Banner tone={list ? 'warning' : 'error'}>
          <strong>{list ? 'Connection lost, retrying.' : 'Cannot load the API tokens, retrying.'}</strong>{' '}
          {error}
        </Banner>
      )}
      {list === undefined ? (
        error === null && <p class="loading">Loading…</p>
      ) : (
        <div class="card">
          {list.tokens.length === 0 ? (
            <p class="empty">
              No API tokens{includeRevoked ? '' : ' in use'}. Create one for a script or a pipeline.
            </p>
          ) : (
            <TokenTable
              tokens={list.tokens}
              now={now}
              onRevoke={(token) => (open.value = { kind: 'revoke', token })}
            />
          )}
          <nav class="pager" aria-label="Pages of API tokens">
            {cursor && (
              <a href={tokensUrl(includeRevoked)} class="button">
                ← First page
              </a>
            )}
            {list.nextCursor && (
              <a href={tokensUrl(includeRevoked, list.nextCursor)} class="button" rel="next">
                Next page →
              </a>
            )}
          </nav>
        </div>
      )}
      <CreateTokenDialog
        open={open.value?.kind === 'create'}
        onClose={() => (open.value = null)}
        onCreated={(token) => {
          said.value = `Created the token “${token.name}” (${token.role}).`;
          poller.refresh();
        }}
      />
      <RevokeTokenDialog
        token={open.value?.kind === 'revoke' ? open.value.token : null}
        onClose={() => (open.value = null)}
        onRevoked={(token) => {
          said.value = `Revoked the token “${token.name}”.`;
          open.value = null;
          poller.refresh();
        }}
      />
    </section>
  );
}

function TokenTable({
  tokens,
  now,
  onRevoke,
}: {
  tokens: ApiToken[];
  now: number;
  onRevoke: (token: ApiToken) => void;
}) {
  return (
    <TableScroll label="API tokens">
      <table class="stacked-table">
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Created by</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((token) => (
            <tr key={token.id} data-token-name={token.name}>
              <td class="cell-text stack-title" data-label="Token">
                <span class="cell-main">{token.name}</span>
                <code class="cell-sub">{token.prefix}…</code>
              </td>
              <td data-label="Role">{token.role}</td>
              <td class="stack-aside" data-label="Status">
                <span class={`status token-${token.status}`}>{token.status}</span>
              </td>
              <td class="cell-text" data-label="Created by">
                {token.createdByName || token.createdBy}
              </td>
              <td data-label="Created">
                <RelativeTime at={token.createdAt} now={now} />
              </td>
              <td data-label="Expires">
                {token.status === 'revoked' ? (
                  // A revoked token no longer expires: say when it was revoked instead.
                  <span>
                    revoked <RelativeTime at={token.revokedAt} now={now} />
                  </span>
                ) : token.expiresAt === null ? (
                  'never'
                ) : (
                  <FutureTime at={token.expiresAt} now={now} />
                )}
              </td>
              <td data-label="Last used">
                {token.lastUsedAt === null ? 'never' : <RelativeTime at={token.lastUsedAt} now={now} />}
              </td>
              <td class="settings-actions stack-bare" data-label="Actions">
                {token.status !== 'revoked' && (
                  <button
                    type="button"
                    class="button-danger-quiet"
                    aria-label={`Revoke ${token.name}`}
                    onClick={() => onRevoke(token)}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

/** "in 29 d" (or "3 h ago" once past), with the local date and time on hover. */
function FutureTime({ at, now }: { at: string; now: number }) {
  const time = Date.parse(at);
  if (time <= now) return <RelativeTime at={at} now={now} />;
  const age = formatAge(now, time).replace(' ago', '');
  return (
    <time dateTime={at} title={formatAbsolute(time)}>
      {age === 'just now' ? 'now' : `in ${age}`}
    </time>
  );
}
