import { useSignal } from '@preact/signals';
import { type AlertRule, SCOPE_LABELS } from '../api/alerts';
import { api } from '../api/client';
import { refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { errorOf, Field, fieldAria } from '../components/field';
import { ModalDialog } from '../components/modal-dialog';
import { localInputValue, silenceBody } from '../lib/silence-form';

const HOUR_MS = 3_600_000;

/** Silence a rule, or everything in a scope, until a time, saying why. */
export function SilenceDialog({
  open,
  rules,
  onClose,
  onSaved,
}: {
  open: boolean;
  rules: AlertRule[];
  onClose: () => void;
  onSaved: () => void;
}) {
  return (
    <ModalDialog open={open} onClose={onClose} titleId="silence-dialog-title" wide>
      {open && <SilenceForm rules={rules} onClose={onClose} onSaved={onSaved} />}
    </ModalDialog>
  );
}

function SilenceForm({
  rules,
  onClose,
  onSaved,
}: {
  rules: AlertRule[];
  onClose: () => void;
  onSaved: () => void;
}) {
  const target = useSignal(rules[0] ? `rule:${rules[0].id}` : 'scope:all');
  const fields = useSignal<Record<string, string>>({});
  const e = (field: string) => errorOf(fields.value, field);
  const t = target.value;

  async function submit(form: FormData): Promise<string | null> {
    try {
      const response = await api.api.alerts.silences.$post({ json: silenceBody(form) });
      if (!response.ok) {
        const refusal = await refusalOf(response);
        fields.value = refusal.fields;
        return Object.keys(refusal.fields).length > 0
          ? 'Some fields need a change: see the messages next to them.'
          : refusal.message;
      }
    } catch {
      return UNREACHABLE.message;
    }
    fields.value = {};
    onSaved();
    return null;
  }

  return (
    <DialogForm
      titleId="silence-dialog-title"
      title="Add a silence"
      submitLabel="Add silence"
      noValidate
      onSubmit={submit}
      onCancel={onClose}
    >
      <p class="hint">Silenced alerts still fire and are recorded, but nothing is sent.</p>
      <div class="config-grid">
        <Field id="silence-target" label="Silence" error={e('ruleId') ?? fields.value.scope}>
          <select
            name="target"
            {...fieldAria('silence-target', e('ruleId'))}
            onChange={(event) => (target.value = event.currentTarget.value)}
          >
            {rules.length > 0 && (
              <optgroup label="A rule">
                {rules.map((rule) => (
                  <option key={rule.id} value={`rule:${rule.id}`} selected={t === `rule:${rule.id}`}>
                    {rule.name}
                  </option>
                ))}
              </optgroup>
            )}
            <optgroup label="Every rule, for">
              {(['all', 'connection', 'queue', 'host'] as const).map((type) => (
                <option key={type} value={`scope:${type}`} selected={t === `scope:${type}`}>
                  {SCOPE_LABELS[type].toLowerCase()}
                </option>
              ))}
            </optgroup>
          </select>
        </Field>
        {(t === 'scope:connection' || t === 'scope:queue') && (
          <Field id="silence-connection" label="Connection" error={e('scope.connection')}>
            <input
              name="scopeConnection"
              autoComplete="off"
              maxLength={200}
              {...fieldAria('silence-connection', e('scope.connection'))}
            />
          </Field>
        )}
        {t === 'scope:queue' && (
          <Field id="silence-queue" label="Queue" error={e('scope.queue')}>
            <input
              name="scopeQueue"
              autoComplete="off"
              maxLength={200}
              {...fieldAria('silence-queue', e('scope.queue'))}
            />
          </Field>
        )}
        {t === 'scope:host' && (
          <Field id="silence-label" label="Host label" error={e('scope.label')}>
            <input
              name="scopeLabel"
              autoComplete="off"
              maxLength={200}
              {...fieldAria('silence-label', e('scope.label'))}
            />
          </Field>
        )}
        <Field
          id="silence-until"
          label="Until"
          hint="Your local time; at most 90 days ahead."
          error={e('endsAt')}
        >
          <input
            name="until"
            type="datetime-local"
            defaultValue={localInputValue(Date.now() + 2 * HOUR_MS)}
            {...fieldAria('silence-until', e('endsAt'), true)}
          />
        </Field>
        <Field id="silence-reason" label="Reason" error={e('reason')} wide>
          <textarea name="reason" rows={2} maxLength={1000} {...fieldAria('silence-reason', e('reason'))} />
        </Field>
      </div>
    </DialogForm>
  );
}
