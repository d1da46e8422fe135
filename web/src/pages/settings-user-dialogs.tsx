import { ROLES, type Role, type User } from '../api/admin';
import { api, errorMessage } from '../api/client';
import { DialogForm } from '../components/dialog-form';
import { ModalDialog } from '../components/modal-dialog';

/** The answer of a change: the user as the API now has it, or why it refused, to show in place. */
type Outcome = { ok: true; user: User } | { ok: false; message: string };

/** What the create (201) and update (200) routes answer; both bodies are the API's User. */
type UserAnswer = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;

async function outcomeOf(send: () => Promise<UserAnswer>): Promise<Outcome> {
  try {
    const response = await send();
    if (response.ok) return { ok: true, user: (await response.json()) as User };
    return { ok: false, message: await errorMessage(response) };
  } catch {
    return { ok: false, message: 'The server cannot be reached' };
  }
}

function roleOf(value: FormDataEntryValue | null): Role {
  return ROLES.find((role) => role === value) ?? 'viewer';
}

export function CreateUserDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (user: User) => void;
}) {
  async function create(form: FormData): Promise<string | null> {
    const text = (name: string) => String(form.get(name) ?? '').trim();
    const password = String(form.get('password') ?? '');
    const name = text('name');
    const outcome = await outcomeOf(() =>
      api.api.users.$post({
        json: {
          email: text('email'),
          role: roleOf(form.get('role')),
          ...(name ? { name } : {}),
          ...(password ? { password } : {}),
        },
      }),
    );
    if (!outcome.ok) return outcome.message;
    onCreated(outcome.user);
    return null;
  }
  return (
    <ModalDialog open={open} onClose={onClose} titleId="create-user-title">
      <DialogForm
        titleId="create-user-title"
        title="Create a user"
        submitLabel="Create user"
        onSubmit={create}
        onCancel={onClose}
      >
        <label>
          Email
          <input name="email" type="email" required autoComplete="off" maxLength={254} />
        </label>
        <label>
          Name
          <input name="name" autoComplete="off" maxLength={200} />
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
          Password
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            minLength={12}
            maxLength={1024}
            aria-describedby="create-user-password-hint"
          />
        </label>
        <p id="create-user-password-hint" class="hint">
          At least 12 characters. Leave it empty for someone who signs in only through Cloudflare Access.
        </p>
      </DialogForm>
    </ModalDialog>
  );
}

export function ChangeRoleDialog({
  user,
  onClose,
  onChanged,
}: {
  user: User | null;
  onClose: () => void;
  onChanged: (user: User) => void;
}) {
  async function change(form: FormData): Promise<string | null> {
    if (!user) return null;
    const outcome = await outcomeOf(() =>
      api.api.users[':id'].$patch({ param: { id: user.id }, json: { role: roleOf(form.get('role')) } }),
    );
    if (!outcome.ok) return outcome.message;
    onChanged(outcome.user);
    return null;
  }
  return (
    <ModalDialog open={user !== null} onClose={onClose} titleId="change-role-title">
      {user && (
        <DialogForm
          titleId="change-role-title"
          title="Change the role"
          submitLabel="Save role"
          onSubmit={change}
          onCancel={onClose}
        >
          <p class="dialog-subject">{user.email}</p>
          <label>
            Role
            {/* The current role selected (Preact 11 has no defaultValue for <select>). */}
            <select name="role">
              {ROLES.map((role) => (
                <option key={role} value={role} selected={role === user.role}>
                  {role}
                </option>
              ))}
            </select>
          </label>
          <p class="hint">
            A viewer reads; an operator also controls workers, queues and jobs; an admin also manages users,
            tokens and connections. It applies from their next request.
          </p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}

export function DisableUserDialog({
  user,
  onClose,
  onDisabled,
}: {
  user: User | null;
  onClose: () => void;
  onDisabled: (user: User) => void;
}) {
  async function disable(): Promise<string | null> {
    if (!user) return null;
    const outcome = await outcomeOf(() =>
      api.api.users[':id'].$patch({ param: { id: user.id }, json: { disabled: true } }),
    );
    if (!outcome.ok) return outcome.message;
    onDisabled(outcome.user);
    return null;
  }
  return (
    <ModalDialog open={user !== null} onClose={onClose} titleId="disable-user-title">
      {user && (
        <DialogForm
          titleId="disable-user-title"
          title="Disable this user?"
          submitLabel="Disable"
          danger
          onSubmit={disable}
          onCancel={onClose}
        >
          <p class="dialog-subject">{user.email}</p>
          <p>Their sessions end at once and they cannot sign in until an admin enables them again.</p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}
