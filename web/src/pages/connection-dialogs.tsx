import { useSignal } from '@preact/signals';
import { api } from '../api/client';
import { CONNECTION_KINDS, type Connection, type ConnectionKind, KIND_LABELS } from '../api/config';
import { type Refusal, refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { errorOf, Field, fieldAria } from '../components/field';
import { ModalDialog } from '../components/modal-dialog';
import { createBodyOf, formatNodes, patchOf } from '../lib/connection-form';

type Answer = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;
type Saved = { ok: true; connection: Connection } | { ok: false; refusal: Refusal };

async function saved(send: () => Promise<Answer>): Promise<Saved> {
  try {
    const response = await send();
    if (response.ok) return { ok: true, connection: (await response.json()) as Connection };
    return { ok: false, refusal: await refusalOf(response) };
  } catch {
    return { ok: false, refusal: UNREACHABLE };
  }
}

const FIX_FIELDS = 'Some fields need a change: see the messages next to them.';

/**
 * Create a connection, or change one (`connection` given). The fields follow the kind; the kind of
 * an existing connection cannot change. Secrets are never shown: an empty password keeps the one
 * stored, "Clear the stored password" removes it; an empty Postgres URL keeps the stored URL.
 */
export function ConnectionDialog({
  open,
  connection,
  onClose,
  onSaved,
}: {
  open: boolean;
  connection: Connection | null;
  onClose: () => void;
  onSaved: (connection: Connection, created: boolean) => void;
}) {
  const titleId = 'connection-dialog-title';
  return (
    <ModalDialog open={open} onClose={onClose} titleId={titleId} wide>
      {open && (
        <ConnectionForm titleId={titleId} connection={connection} onClose={onClose} onSaved={onSaved} />
      )}
    </ModalDialog>
  );
}

function ConnectionForm({
  titleId,
  connection,
  onClose,
  onSaved,
}: {
  titleId: string;
  connection: Connection | null;
  onClose: () => void;
  onSaved: (connection: Connection, created: boolean) => void;
}) {
  const kind = useSignal<ConnectionKind>(connection?.kind ?? 'redis');
  const fields = useSignal<Record<string, string>>({});
  const clearPassword = useSignal(false);
  const e = (field: string) => errorOf(fields.value, field);

  async function submit(form: FormData): Promise<string | null> {
    let outcome: Saved;
    if (connection) {
      const checked = patchOf(connection, form);
      if (!checked.ok) return fix(checked.fields);
      // Nothing changed: the API would refuse an empty change, and there is nothing to send.
      if (Object.keys(checked.body).length === 0) {
        onClose();
        return null;
      }
      outcome = await saved(() =>
        api.api.connections[':id'].$patch({ param: { id: connection.id }, json: checked.body }),
      );
    } else {
      const checked = createBodyOf(kind.value, form);
      if (!checked.ok) return fix(checked.fields);
      outcome = await saved(() => api.api.connections.$post({ json: checked.body }));
    }
    if (!outcome.ok) {
      fields.value = outcome.refusal.fields;
      return outcome.refusal.message;
    }
    fields.value = {};
    onSaved(outcome.connection, connection === null);
    return null;
  }

  function fix(problems: Record<string, string>): string {
    fields.value = problems;
    return FIX_FIELDS;
  }

  const k = kind.value;
  const redisLike = k !== 'postgres';
  return (
    <DialogForm
      titleId={titleId}
      title={connection ? `Change ${connection.name}` : 'Add a connection'}
      submitLabel={connection ? 'Save connection' : 'Add connection'}
      noValidate
      onSubmit={submit}
      onCancel={onClose}
    >
      <div class="config-grid">
        <Field id="connection-name" label="Name" error={e('name')}>
          <input
            name="name"
            required
            maxLength={100}
            autoComplete="off"
            defaultValue={connection?.name ?? ''}
            {...fieldAria('connection-name', e('name'))}
          />
        </Field>
        {connection ? (
          <Field id="connection-kind" label="Kind" hint="The kind of a connection cannot change.">
            <input
              value={KIND_LABELS[connection.kind]}
              readOnly
              {...fieldAria('connection-kind', undefined, true)}
            />
          </Field>
        ) : (
          <Field id="connection-kind" label="Kind">
            <select
              id="connection-kind"
              name="kind"
              onChange={(event) => {
                const value = event.currentTarget.value;
                kind.value = CONNECTION_KINDS.find((name) => name === value) ?? 'redis';
                fields.value = {};
              }}
            >
              {CONNECTION_KINDS.map((name) => (
                <option key={name} value={name} selected={name === k}>
                  {KIND_LABELS[name]}
                </option>
              ))}
            </select>
          </Field>
        )}
        {k === 'redis' && (
          <>
            <Field id="connection-host" label="Host" error={e('host')}>
              <input
                name="host"
                required
                maxLength={253}
                autoComplete="off"
                defaultValue={connection?.host ?? ''}
                {...fieldAria('connection-host', e('host'))}
              />
            </Field>
            <Field id="connection-port" label="Port" error={e('port')}>
              <input
                name="port"
                type="number"
                min={1}
                max={65535}
                step={1}
                defaultValue={String(connection?.port ?? 6379)}
                {...fieldAria('connection-port', e('port'))}
              />
            </Field>
          </>
        )}
        {(k === 'redis-cluster' || k === 'redis-sentinel') && (
          <Field
            id="connection-nodes"
            label={k === 'redis-cluster' ? 'Cluster nodes' : 'Sentinels'}
            hint={`One host:port a line${k === 'redis-cluster' ? '; some of the nodes are enough' : ''}.`}
            error={e('nodes')}
            wide
          >
            <textarea
              name="nodes"
              rows={3}
              required
              spellcheck={false}
              defaultValue={formatNodes(connection?.nodes ?? null)}
              {...fieldAria('connection-nodes', e('nodes'), true)}
            />
          </Field>
        )}
        {k === 'redis-sentinel' && (
          <Field id="connection-sentinel-name" label="Primary name" error={e('sentinelName')}>
            <input
              name="sentinelName"
              required
              maxLength={100}
              autoComplete="off"
              defaultValue={connection?.sentinelName ?? ''}
              placeholder="mymaster"
              {...fieldAria('connection-sentinel-name', e('sentinelName'))}
            />
          </Field>
        )}
        {(k === 'redis' || k === 'redis-sentinel') && (
          <Field id="connection-db" label="Database" error={e('db')}>
            <input
              name="db"
              type="number"
              min={0}
              max={65535}
              step={1}
              defaultValue={String(connection?.db ?? 0)}
              {...fieldAria('connection-db', e('db'))}
            />
          </Field>
        )}
        {redisLike && (
          <>
            <Field id="connection-username" label="Username" error={e('username')}>
              <input
                name="username"
                maxLength={256}
                autoComplete="off"
                defaultValue={connection?.username ?? ''}
                {...fieldAria('connection-username', e('username'))}
              />
            </Field>
            <Field id="connection-key-prefix" label="Key prefix" error={e('keyPrefix')}>
              <input
                name="keyPrefix"
                maxLength={100}
                autoComplete="off"
                placeholder="bull"
                defaultValue={connection?.keyPrefix ?? ''}
                {...fieldAria('connection-key-prefix', e('keyPrefix'))}
              />
            </Field>
            <label class="config-check">
              <input name="tls" type="checkbox" defaultChecked={connection?.tls ?? false} />
              Use TLS
            </label>
            <Field
              id="connection-password"
              label="Password"
              hint={
                connection?.hasPassword
                  ? 'A password is stored. Leave this empty to keep it, or type a new one to replace it.'
                  : 'Optional. Stored encrypted and never shown again.'
              }
              error={e('password')}
              wide
            >
              <input
                name="password"
                type="password"
                autoComplete="new-password"
                maxLength={1024}
                disabled={clearPassword.value}
                {...fieldAria('connection-password', e('password'), true)}
              />
            </Field>
            {connection?.hasPassword && (
              <label class="config-check config-wide">
                <input
                  name="clearPassword"
                  type="checkbox"
                  checked={clearPassword.value}
                  onChange={(event) => (clearPassword.value = event.currentTarget.checked)}
                />
                Clear the stored password
              </label>
            )}
          </>
        )}
        {k === 'postgres' && (
          <Field
            id="connection-url"
            label="Postgres URL"
            hint={
              connection?.hasUrl
                ? 'A URL is stored. Leave this empty to keep it, or paste a new one to replace it.'
                : 'It holds a password: stored encrypted and never shown again.'
            }
            error={e('url')}
            wide
          >
            <input
              name="url"
              type="password"
              autoComplete="off"
              maxLength={2048}
              required={!connection}
              placeholder="postgres://user:password@host:5432/database"
              {...fieldAria('connection-url', e('url'), true)}
            />
          </Field>
        )}
      </div>
    </DialogForm>
  );
}

/** Delete after asking; the API's refusal (409: a supervisor uses it) shows in the dialog. */
export function DeleteConnectionDialog({
  connection,
  onClose,
  onDeleted,
}: {
  connection: Connection | null;
  onClose: () => void;
  onDeleted: (connection: Connection) => void;
}) {
  async function remove(): Promise<string | null> {
    if (!connection) return null;
    try {
      const response = await api.api.connections[':id'].$delete({ param: { id: connection.id } });
      if (!response.ok) return (await refusalOf(response)).message;
    } catch {
      return UNREACHABLE.message;
    }
    onDeleted(connection);
    return null;
  }
  return (
    <ModalDialog open={connection !== null} onClose={onClose} titleId="delete-connection-title">
      {connection && (
        <DialogForm
          titleId="delete-connection-title"
          title="Delete this connection?"
          submitLabel="Delete"
          danger
          onSubmit={remove}
          onCancel={onClose}
        >
          <p class="dialog-subject">{connection.name}</p>
          <p>Hosts can no longer use it. A connection a supervisor uses cannot be deleted.</p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}
