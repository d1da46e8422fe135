import { useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { type ApiToken, type CreatedToken, ROLES } from '../api/admin';
import { api, errorMessage } from '../api/client';
import { CopyButton } from '../components/copy-button';
import { ModalDialog } from '../components/modal-dialog';
import '../components/dialog-form.css';
import { formatAbsolute } from '../lib/format';

const DAY_MS = 24 * 60 * 60 * 1000;
const EXPIRIES = [
  ['7', '7 days'],
  ['30', '30 days'],
  ['90', '90 days'],
  ['365', '1 year'],
  ['never', 'No expiry date'],
] as const;

/**
 * Create an API token, then show its secret this once. The secret lives only in this dialog's
 * content: closing the dialog unmounts it, so it is neither kept in state nor left in the document.
 */
export function CreateTokenDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (token: ApiToken) => void;
}) {
  return (
    <ModalDialog open={open} onClose={onClose} titleId="create-token-title" wide>
      <CreateTokenContent onClose={onClose} onCreated={onCreated} />
    </ModalDialog>
  );
}

function CreateTokenContent({
  onClose,
  onCreated,
}: {
  onClose: () => void;
  onCreated: (token: ApiToken) => void;
}) {
  const created = useSignal<CreatedToken | null>(null);
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const days = String(form.get('expiry') ?? '30');
    busy.value = true;
    error.value = null;
    try {
      const response = await api.api.tokens.$post({
        json: {
          name: String(form.get('name') ?? '').trim(),
          role: ROLES.find((role) => role === form.get('role')) ?? 'viewer',
          ...(days === 'never'
            ? {}
            : { expiresAt: new Date(Date.now() + Number(days) * DAY_MS).toISOString() }),
        },
      });
      if (response.status === 201) {
        const body = await response.json();
        created.value = body;
        const { token: _secret, ...listed } = body;
        onCreated(listed);
      } else {
        error.value = await errorMessage(response);
      }
    } catch {
      error.value = 'The server cannot be reached';
    } finally {
      busy.value = false;
    }
  }

  if (created.value) return <SecretOnce token={created.value} onDone={onClose} />;
  return (
    <form class="dialog-form" onSubmit={(event) => void submit(event)}>
      <h2 id="create-token-title">Create an API token</h2>
      <label>
        Name
        <input name="name" required maxLength={200} autoComplete="off" placeholder="deploy pipeline" />
      </label>
      <label>
        Role
        <select name="role">
          {ROLES.map((role) => (
            <option key={role} value={role} selected={role === 'viewer'}>
              {role}
            </option>
          ))}
        </select>
      </label>
      <label>
        Expires after
        <select name="expiry">
          {EXPIRIES.map(([value, label]) => (
            <option key={value} value={value} selected={value === '30'}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <p class="hint">
        A token acts with its role on every API route, as <code>Authorization: Bearer …</code>.
      </p>
      {error.value !== null && (
        <p class="form-error" role="alert">
          {error.value}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" class="button-primary" disabled={busy.value}>
          Create token
        </button>
      </div>
    </form>
  );
}

function SecretOnce({ token, onDone }: { token: CreatedToken; onDone: () => void }) {
  const field = useRef<HTMLInputElement>(null);
  // Focus the secret, selected, so it can be copied at once with the keyboard too.
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, []);
  return (
    <div class="dialog-form">
      <h2 id="create-token-title">Token created: copy it now</h2>
      <p class="secret-warning" role="alert">
        <strong>You will not see this token again.</strong> Watchtower keeps only a hash of it. Store it
        somewhere safe before you close this dialog.
      </p>
      <label>
        Token for “{token.name}” ({token.role})
        <input ref={field} class="secret" readOnly value={token.token} data-secret />
      </label>
      <p>
        <CopyButton text={token.token} what="the token" />
      </p>
      <p class="hint">
        {token.expiresAt === null
          ? 'It does not expire; revoke it when it is no longer needed.'
          : `It expires ${formatAbsolute(Date.parse(token.expiresAt))}.`}
      </p>
      <div class="dialog-actions">
        <button type="button" class="button-primary" onClick={onDone}>
          Done, I have stored it
        </button>
      </div>
    </div>
  );
}

export function RevokeTokenDialog({
  token,
  onClose,
  onRevoked,
}: {
  token: ApiToken | null;
  onClose: () => void;
  onRevoked: (token: ApiToken) => void;
}) {
  const busy = useSignal(false);
  const error = useSignal<string | null>(null);
  async function revoke() {
    if (!token) return;
    busy.value = true;
    error.value = null;
    try {
      const response = await api.api.tokens[':id'].$delete({ param: { id: token.id } });
      if (response.ok) onRevoked(await response.json());
      else error.value = await errorMessage(response);
    } catch {
      error.value = 'The server cannot be reached';
    } finally {
      busy.value = false;
    }
  }
  return (
    <ModalDialog
      open={token !== null}
      onClose={() => {
        error.value = null;
        onClose();
      }}
      titleId="revoke-token-title"
    >
      {token && (
        <div class="dialog-form">
          <h2 id="revoke-token-title">Revoke this token?</h2>
          <p class="dialog-subject">
            {token.name} <code>{token.prefix}…</code>
          </p>
          <p>Every request with it is refused from now on. This cannot be undone.</p>
          {error.value !== null && (
            <p class="form-error" role="alert">
              {error.value}
            </p>
          )}
          <div class="dialog-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="button" class="button-danger" disabled={busy.value} onClick={() => void revoke()}>
              Revoke
            </button>
          </div>
        </div>
      )}
    </ModalDialog>
  );
}
