import { useSignal } from '@preact/signals';
import type { AlertChannel, ChannelKind } from '../api/alerts';
import { api } from '../api/client';
import { type Refusal, refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { errorOf, Field, fieldAria } from '../components/field';
import { ModalDialog } from '../components/modal-dialog';
import { channelPatch, createChannelBody } from '../lib/channel-form';

export const CHANNEL_KIND_LABELS: Record<ChannelKind, string> = {
  webhook: 'Webhook',
  slack: 'Slack',
  email: 'Email',
};
const CHANNEL_KINDS = Object.keys(CHANNEL_KIND_LABELS) as ChannelKind[];

type Answer = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;
type Saved = { ok: true; channel: AlertChannel } | { ok: false; refusal: Refusal };

async function saved(send: () => Promise<Answer>): Promise<Saved> {
  try {
    const response = await send();
    if (response.ok) return { ok: true, channel: (await response.json()) as AlertChannel };
    return { ok: false, refusal: await refusalOf(response) };
  } catch {
    return { ok: false, refusal: UNREACHABLE };
  }
}

/**
 * Add a channel or change one (`channel` given). Its URL and secret are never shown: empty keeps
 * the stored one, a value replaces it.
 */
export function AlertChannelDialog({
  open,
  channel,
  onClose,
  onSaved,
}: {
  open: boolean;
  channel: AlertChannel | null;
  onClose: () => void;
  onSaved: (channel: AlertChannel, created: boolean) => void;
}) {
  return (
    <ModalDialog open={open} onClose={onClose} titleId="alert-channel-dialog-title" wide>
      {open && <ChannelForm channel={channel} onClose={onClose} onSaved={onSaved} />}
    </ModalDialog>
  );
}

function ChannelForm({
  channel,
  onClose,
  onSaved,
}: {
  channel: AlertChannel | null;
  onClose: () => void;
  onSaved: (channel: AlertChannel, created: boolean) => void;
}) {
  const kind = useSignal<ChannelKind>(channel?.kind ?? 'webhook');
  const fields = useSignal<Record<string, string>>({});
  const e = (field: string) => errorOf(fields.value, field);

  async function submit(form: FormData): Promise<string | null> {
    const outcome = channel
      ? await saved(() =>
          api.api.alerts.channels[':id'].$patch({
            param: { id: channel.id },
            json: channelPatch(channel, form),
          }),
        )
      : await saved(() => api.api.alerts.channels.$post({ json: createChannelBody(kind.value, form) }));
    if (!outcome.ok) {
      fields.value = outcome.refusal.fields;
      return Object.keys(outcome.refusal.fields).length > 0
        ? 'Some fields need a change: see the messages next to them.'
        : outcome.refusal.message;
    }
    fields.value = {};
    onSaved(outcome.channel, channel === null);
    return null;
  }

  const k = kind.value;
  return (
    <DialogForm
      titleId="alert-channel-dialog-title"
      title={channel ? `Change channel ${channel.name}` : 'Add a channel'}
      submitLabel={channel ? 'Save channel' : 'Add channel'}
      noValidate
      onSubmit={submit}
      onCancel={onClose}
    >
      <div class="config-grid">
        <Field id="channel-name" label="Name" error={e('name')}>
          <input
            name="name"
            maxLength={200}
            autoComplete="off"
            defaultValue={channel?.name ?? ''}
            {...fieldAria('channel-name', e('name'))}
          />
        </Field>
        {channel ? (
          <Field id="channel-kind" label="Kind" hint="The kind of a channel cannot change.">
            <input
              value={CHANNEL_KIND_LABELS[channel.kind]}
              readOnly
              {...fieldAria('channel-kind', undefined, true)}
            />
          </Field>
        ) : (
          <Field id="channel-kind" label="Kind">
            <select
              id="channel-kind"
              name="kind"
              onChange={(event) => {
                const value = event.currentTarget.value;
                kind.value = CHANNEL_KINDS.find((name) => name === value) ?? 'webhook';
                fields.value = {};
              }}
            >
              {CHANNEL_KINDS.map((name) => (
                <option key={name} value={name} selected={name === k}>
                  {CHANNEL_KIND_LABELS[name]}
                </option>
              ))}
            </select>
          </Field>
        )}
        {k !== 'email' && (
          <Field
            id="channel-url"
            label={k === 'slack' ? 'Slack webhook URL' : 'URL'}
            hint={
              channel?.hasUrl
                ? 'A URL is stored. Leave this empty to keep it, or paste a new one to replace it.'
                : 'https (http only to localhost). Stored encrypted and never shown again.'
            }
            error={e('url')}
            wide
          >
            <input
              name="url"
              type="password"
              autoComplete="off"
              maxLength={2048}
              {...fieldAria('channel-url', e('url'), true)}
            />
          </Field>
        )}
        {k === 'webhook' && (
          <Field
            id="channel-secret"
            label="Signing secret"
            hint={
              channel?.hasSecret
                ? 'A secret is stored. Leave this empty to keep it, or type a new one to replace it.'
                : 'At least 16 characters; signs each request (X-Watchtower-Signature). Never shown again.'
            }
            error={e('secret')}
            wide
          >
            <input
              name="secret"
              type="password"
              autoComplete="new-password"
              maxLength={256}
              {...fieldAria('channel-secret', e('secret'), true)}
            />
          </Field>
        )}
        {k === 'email' && (
          <Field id="channel-to" label="Recipients" hint="One email address a line." error={e('to')} wide>
            <textarea
              name="to"
              rows={3}
              spellcheck={false}
              defaultValue={(channel?.to ?? []).join('\n')}
              {...fieldAria('channel-to', e('to'), true)}
            />
          </Field>
        )}
        <label class="config-check config-wide">
          <input name="enabled" type="checkbox" defaultChecked={channel?.enabled ?? true} />
          Enabled
        </label>
      </div>
    </DialogForm>
  );
}

/** Delete after asking; its delivery log stays. */
export function DeleteAlertChannelDialog({
  channel,
  onClose,
  onDeleted,
}: {
  channel: AlertChannel | null;
  onClose: () => void;
  onDeleted: (channel: AlertChannel) => void;
}) {
  async function remove(): Promise<string | null> {
    if (!channel) return null;
    try {
      const response = await api.api.alerts.channels[':id'].$delete({ param: { id: channel.id } });
      if (!response.ok) return (await refusalOf(response)).message;
    } catch {
      return UNREACHABLE.message;
    }
    onDeleted(channel);
    return null;
  }
  return (
    <ModalDialog open={channel !== null} onClose={onClose} titleId="delete-alert-channel-title">
      {channel && (
        <DialogForm
          titleId="delete-alert-channel-title"
          title="Delete this channel?"
          submitLabel="Delete"
          danger
          onSubmit={remove}
          onCancel={onClose}
        >
          <p class="dialog-subject">{channel.name}</p>
          <p>Rules that name it stop sending to it. Its delivery log stays.</p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}
