import { useSignal } from '@preact/signals';
import {
  ALERT_KINDS,
  type AlertChannel,
  type AlertKind,
  type AlertRule,
  type AlertScope,
  KINDS,
  SCOPE_LABELS,
  SCOPES_OF,
} from '../api/alerts';
import { api } from '../api/client';
import { type Refusal, refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { errorOf, Field, fieldAria } from '../components/field';
import { ModalDialog } from '../components/modal-dialog';
import { createRuleBody, rulePatch } from '../lib/alert-rule-form';

type Answer = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;
type Saved = { ok: true; rule: AlertRule } | { ok: false; refusal: Refusal };

async function saved(send: () => Promise<Answer>): Promise<Saved> {
  try {
    const response = await send();
    if (response.ok) return { ok: true, rule: (await response.json()) as AlertRule };
    return { ok: false, refusal: await refusalOf(response) };
  } catch {
    return { ok: false, refusal: UNREACHABLE };
  }
}

/**
 * Add a rule, or change one (`rule` given). The kind picks the threshold fields and the scopes on
 * offer; the kind of an existing rule cannot change. The API's refusals show by their fields.
 */
export function AlertRuleDialog({
  open,
  rule,
  channels,
  onClose,
  onSaved,
}: {
  open: boolean;
  rule: AlertRule | null;
  channels: AlertChannel[];
  onClose: () => void;
  onSaved: (rule: AlertRule, created: boolean) => void;
}) {
  const titleId = 'alert-rule-dialog-title';
  return (
    <ModalDialog open={open} onClose={onClose} titleId={titleId} wide>
      {open && (
        <RuleForm titleId={titleId} rule={rule} channels={channels} onClose={onClose} onSaved={onSaved} />
      )}
    </ModalDialog>
  );
}

function RuleForm({
  titleId,
  rule,
  channels,
  onClose,
  onSaved,
}: {
  titleId: string;
  rule: AlertRule | null;
  channels: AlertChannel[];
  onClose: () => void;
  onSaved: (rule: AlertRule, created: boolean) => void;
}) {
  const kind = useSignal<AlertKind>(rule?.kind ?? 'host_down');
  const scopeType = useSignal<AlertScope['type']>(rule?.scope.type ?? 'all');
  const fields = useSignal<Record<string, string>>({});
  const e = (field: string) => errorOf(fields.value, field);

  async function submit(form: FormData): Promise<string | null> {
    const outcome = rule
      ? await saved(() =>
          api.api.alerts.rules[':id'].$patch({ param: { id: rule.id }, json: rulePatch(rule, form) }),
        )
      : await saved(() => api.api.alerts.rules.$post({ json: createRuleBody(kind.value, form) }));
    if (!outcome.ok) {
      fields.value = outcome.refusal.fields;
      return Object.keys(outcome.refusal.fields).length > 0
        ? 'Some fields need a change: see the messages next to them.'
        : outcome.refusal.message;
    }
    fields.value = {};
    onSaved(outcome.rule, rule === null);
    return null;
  }

  const k = kind.value;
  const scopes = SCOPES_OF[k];
  const scope = scopes.includes(scopeType.value) ? scopeType.value : 'all';
  const current = rule?.scope;
  return (
    <DialogForm
      titleId={titleId}
      title={rule ? `Change rule ${rule.name}` : 'Add an alert rule'}
      submitLabel={rule ? 'Save rule' : 'Add rule'}
      noValidate
      onSubmit={submit}
      onCancel={onClose}
    >
      <div class="config-grid">
        <Field id="rule-name" label="Name" error={e('name')}>
          <input
            name="name"
            maxLength={200}
            autoComplete="off"
            defaultValue={rule?.name ?? ''}
            {...fieldAria('rule-name', e('name'))}
          />
        </Field>
        {rule ? (
          <Field id="rule-kind" label="Kind" hint="The kind of a rule cannot change.">
            <input value={KINDS[rule.kind].label} readOnly {...fieldAria('rule-kind', undefined, true)} />
          </Field>
        ) : (
          <Field id="rule-kind" label="Kind" error={e('kind')}>
            <select
              name="kind"
              {...fieldAria('rule-kind', e('kind'))}
              onChange={(event) => {
                const value = event.currentTarget.value;
                kind.value = ALERT_KINDS.find((name) => name === value) ?? 'host_down';
                fields.value = {};
              }}
            >
              {ALERT_KINDS.map((name) => (
                <option key={name} value={name} selected={name === k}>
                  {KINDS[name].label}
                </option>
              ))}
            </select>
          </Field>
        )}
        {KINDS[k].params.length > 0 && (
          <fieldset class="alerts-params config-wide">
            <legend>Thresholds</legend>
            {KINDS[k].params.map((shape) => {
              const id = `rule-param-${shape.name}`;
              const error = e(`params.${shape.name}`);
              return (
                <Field key={`${k}-${shape.name}`} id={id} label={shape.label} error={error}>
                  <input
                    name={`param.${shape.name}`}
                    type="number"
                    inputMode="decimal"
                    min={shape.min}
                    max={shape.max}
                    defaultValue={
                      rule?.params[shape.name] === undefined ? '' : String(rule.params[shape.name])
                    }
                    {...fieldAria(id, error)}
                  />
                </Field>
              );
            })}
          </fieldset>
        )}
        <Field id="rule-scope" label="Watches" error={e('scope.type') ?? fields.value.scope}>
          <select
            name="scopeType"
            {...fieldAria('rule-scope', e('scope.type'))}
            onChange={(event) => {
              const value = event.currentTarget.value;
              scopeType.value = scopes.find((name) => name === value) ?? 'all';
            }}
          >
            {scopes.map((name) => (
              <option key={name} value={name} selected={name === scope}>
                {SCOPE_LABELS[name]}
              </option>
            ))}
          </select>
        </Field>
        {(scope === 'connection' || scope === 'queue') && (
          <Field id="rule-scope-connection" label="Connection" error={e('scope.connection')}>
            <input
              name="scopeConnection"
              autoComplete="off"
              maxLength={200}
              defaultValue={current && 'connection' in current ? current.connection : ''}
              {...fieldAria('rule-scope-connection', e('scope.connection'))}
            />
          </Field>
        )}
        {scope === 'queue' && (
          <Field id="rule-scope-queue" label="Queue" error={e('scope.queue')}>
            <input
              name="scopeQueue"
              autoComplete="off"
              maxLength={200}
              defaultValue={current?.type === 'queue' ? current.queue : ''}
              {...fieldAria('rule-scope-queue', e('scope.queue'))}
            />
          </Field>
        )}
        {scope === 'host' && (
          <Field id="rule-scope-label" label="Host label" error={e('scope.label')}>
            <input
              name="scopeLabel"
              autoComplete="off"
              maxLength={200}
              defaultValue={current?.type === 'host' ? current.label : ''}
              {...fieldAria('rule-scope-label', e('scope.label'))}
            />
          </Field>
        )}
        <Field
          id="rule-for"
          label="Fires after (evaluations)"
          hint="Consecutive minutes the condition must hold before it fires, and be gone before it resolves."
          error={e('forEvaluations')}
        >
          <input
            name="forEvaluations"
            type="number"
            min={1}
            max={60}
            step={1}
            defaultValue={String(rule?.forEvaluations ?? 2)}
            {...fieldAria('rule-for', e('forEvaluations'), true)}
          />
        </Field>
        <Field
          id="rule-renotify"
          label="Notify again every (minutes)"
          hint="While it keeps firing."
          error={e('renotifyMinutes')}
        >
          <input
            name="renotifyMinutes"
            type="number"
            min={1}
            max={10_080}
            step={1}
            defaultValue={String(rule?.renotifyMinutes ?? 60)}
            {...fieldAria('rule-renotify', e('renotifyMinutes'), true)}
          />
        </Field>
        <fieldset
          class="alerts-channel-picks config-wide"
          aria-describedby={e('channelIds') ? 'rule-channels-error' : undefined}
        >
          <legend>Notify</legend>
          {channels.length === 0 && (
            <span class="hint">No channels yet: the rule's alerts show here only.</span>
          )}
          {channels.map((channel) => (
            <label key={channel.id} class="config-check">
              <input
                type="checkbox"
                name="channelIds"
                value={channel.id}
                defaultChecked={rule?.channelIds.includes(channel.id) ?? false}
              />
              {channel.name}
            </label>
          ))}
          {e('channelIds') !== undefined && (
            <span class="field-error" id="rule-channels-error">
              {e('channelIds')}
            </span>
          )}
        </fieldset>
        <label class="config-check config-wide">
          <input name="enabled" type="checkbox" defaultChecked={rule?.enabled ?? true} />
          Enabled
        </label>
      </div>
    </DialogForm>
  );
}

/** Delete after asking; the rule's history stays. */
export function DeleteAlertRuleDialog({
  rule,
  onClose,
  onDeleted,
}: {
  rule: AlertRule | null;
  onClose: () => void;
  onDeleted: (rule: AlertRule) => void;
}) {
  async function remove(): Promise<string | null> {
    if (!rule) return null;
    try {
      const response = await api.api.alerts.rules[':id'].$delete({ param: { id: rule.id } });
      if (!response.ok) return (await refusalOf(response)).message;
    } catch {
      return UNREACHABLE.message;
    }
    onDeleted(rule);
    return null;
  }
  return (
    <ModalDialog open={rule !== null} onClose={onClose} titleId="delete-alert-rule-title">
      {rule && (
        <DialogForm
          titleId="delete-alert-rule-title"
          title="Delete this rule?"
          submitLabel="Delete"
          danger
          onSubmit={remove}
          onCancel={onClose}
        >
          <p class="dialog-subject">{rule.name}</p>
          <p>Its alerts stop; their history stays.</p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}
