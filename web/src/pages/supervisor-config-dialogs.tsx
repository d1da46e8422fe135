import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from '../api/client';
import type { Connection, SupervisorConfig } from '../api/config';
import { type Refusal, refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { errorOf, Field, fieldAria } from '../components/field';
import { ModalDialog } from '../components/modal-dialog';
import { QueueDiscovery } from '../components/queue-discovery';
import {
  BALANCES,
  configBodyOf,
  configPatchOf,
  formValuesOf,
  MAX_QUEUES,
  NUMBER_FIELDS,
  type NumberField,
  type SupervisorFormValues,
} from '../lib/supervisor-form';

type Answer = Pick<Response, 'ok' | 'status' | 'statusText' | 'json'>;
type Saved = { ok: true; config: SupervisorConfig } | { ok: false; refusal: Refusal };

async function saved(send: () => Promise<Answer>): Promise<Saved> {
  try {
    const response = await send();
    if (response.ok) return { ok: true, config: (await response.json()) as SupervisorConfig };
    return { ok: false, refusal: await refusalOf(response) };
  } catch {
    return { ok: false, refusal: UNREACHABLE };
  }
}

const FIX_FIELDS = 'Some fields need a change: see the messages next to them.';

const NUMBER_LABELS: Record<NumberField, { label: string; hint: string }> = {
  minProcesses: { label: 'Minimum processes', hint: 'per queue, whatever the load' },
  maxProcesses: { label: 'Maximum processes', hint: 'in total; empty: minimum × queues' },
  concurrency: { label: 'Concurrency', hint: 'jobs one process runs at once' },
  tries: { label: 'Tries', hint: 'runs of a job that sets no attempts' },
  timeout: { label: 'Timeout (s)', hint: '0: no limit' },
  memory: { label: 'Memory (MB)', hint: 'restart a process above it; 0: no limit' },
  sleep: { label: 'Sleep (s)', hint: 'wait on an empty queue' },
  rest: { label: 'Rest (s)', hint: 'pause after each job' },
};

/** Create a supervisor configuration, or change one (`config` given): every setting, checked. */
export function SupervisorConfigDialog({
  open,
  config,
  onClose,
  onSaved,
}: {
  open: boolean;
  config: SupervisorConfig | null;
  onClose: () => void;
  onSaved: (config: SupervisorConfig, created: boolean) => void;
}) {
  const titleId = 'supervisor-dialog-title';
  return (
    <ModalDialog open={open} onClose={onClose} titleId={titleId} wide>
      {open && <SupervisorForm titleId={titleId} config={config} onClose={onClose} onSaved={onSaved} />}
    </ModalDialog>
  );
}

/** The connections to choose from (up to 500, the API's largest page). */
function useConnections(): Signal<Connection[] | string | null> {
  const connections = useSignal<Connection[] | string | null>(null);
  useEffect(() => {
    let live = true;
    api.api.connections
      .$get({ query: { limit: '500' } })
      .then(async (response) => {
        const value = response.ok ? (await response.json()).connections : (await refusalOf(response)).message;
        if (live) connections.value = value;
      })
      .catch(() => {
        if (live) connections.value = UNREACHABLE.message;
      });
    return () => {
      live = false;
    };
  }, []);
  return connections;
}

function SupervisorForm({
  titleId,
  config,
  onClose,
  onSaved,
}: {
  titleId: string;
  config: SupervisorConfig | null;
  onClose: () => void;
  onSaved: (config: SupervisorConfig, created: boolean) => void;
}) {
  const connections = useConnections();
  const values = useSignal<SupervisorFormValues>(formValuesOf(config));
  const fields = useSignal<Record<string, string>>({});
  const v = values.value;
  const f = fields.value;
  const e = (field: string) => errorOf(f, field);
  const list = Array.isArray(connections.value) ? connections.value : [];

  // A new configuration starts on the first connection, once the list is in.
  useEffect(() => {
    if (!config && values.value.connection === '' && list[0]) update({ connection: list[0].name });
  }, [list.length]);

  function update(change: Partial<SupervisorFormValues>) {
    values.value = { ...values.value, ...change };
  }

  function setQueue(index: number, change: Partial<SupervisorFormValues['queues'][number]>) {
    update({ queues: values.value.queues.map((line, at) => (at === index ? { ...line, ...change } : line)) });
  }

  function toggleQueue(queue: string, on: boolean) {
    const queues = values.value.queues;
    if (!on) {
      update({ queues: queues.filter((line) => line.name.trim() !== queue) });
      return;
    }
    if (queues.some((line) => line.name.trim() === queue)) return;
    // A blank first line is filled rather than left above the queue ticked.
    const kept = queues.filter((line) => line.name.trim() || line.processor.trim());
    update({ queues: [...kept, { name: queue, processor: '' }] });
  }

  async function submit(): Promise<string | null> {
    let outcome: Saved;
    if (config) {
      const checked = configPatchOf(config, values.value);
      if (!checked.ok) return fix(checked.fields);
      if (Object.keys(checked.body).length === 0) {
        onClose();
        return null;
      }
      outcome = await saved(() =>
        api.api.supervisors.configs[':id'].$patch({ param: { id: config.id }, json: checked.body }),
      );
    } else {
      const checked = configBodyOf(values.value);
      if (!checked.ok) return fix(checked.fields);
      outcome = await saved(() => api.api.supervisors.configs.$post({ json: checked.body }));
    }
    if (!outcome.ok) {
      fields.value = outcome.refusal.fields;
      return outcome.refusal.message;
    }
    fields.value = {};
    onSaved(outcome.config, config === null);
    return null;
  }

  function fix(problems: Record<string, string>): string {
    fields.value = problems;
    return FIX_FIELDS;
  }

  const chosen = list.find((connection) => connection.name === v.connection) ?? null;
  const connectionNames = list.map((connection) => connection.name);
  if (v.connection && !connectionNames.includes(v.connection)) connectionNames.unshift(v.connection);
  const queueNames = v.queues.map((line) => line.name.trim()).filter(Boolean);

  return (
    <DialogForm
      titleId={titleId}
      title={config ? `Change ${config.name}` : 'Add a supervisor'}
      submitLabel={config ? 'Save supervisor' : 'Add supervisor'}
      noValidate
      onSubmit={submit}
      onCancel={onClose}
    >
      <div class="config-grid">
        <Field id="supervisor-name" label="Name" error={e('name')}>
          <input
            maxLength={100}
            autoComplete="off"
            value={v.name}
            onInput={(event) => update({ name: event.currentTarget.value })}
            {...fieldAria('supervisor-name', e('name'))}
          />
        </Field>
        <Field
          id="supervisor-connection"
          label="Connection"
          error={
            e('connection') ??
            (typeof connections.value === 'string'
              ? `Cannot list the connections: ${connections.value}`
              : undefined)
          }
        >
          <select
            onChange={(event) => update({ connection: event.currentTarget.value })}
            {...fieldAria('supervisor-connection', e('connection'))}
          >
            {connectionNames.length === 0 && <option value="">No connections yet</option>}
            {connectionNames.map((name) => (
              <option key={name} value={name} selected={name === v.connection}>
                {name}
              </option>
            ))}
          </select>
        </Field>
      </div>

      <fieldset class="config-queues" aria-describedby={f.queues ? 'supervisor-queues-error' : undefined}>
        <legend>Queues and their processor modules</legend>
        <QueueDiscovery connectionId={chosen?.id ?? null} chosen={queueNames} onToggle={toggleQueue} />
        {f.queues !== undefined && (
          <span class="field-error" id="supervisor-queues-error">
            {f.queues}
          </span>
        )}
        <ul class="queue-lines">
          {v.queues.map((line, index) => {
            const queueProblem = f[`queues.${index}`];
            const processorProblem = f[`processors.${index}`] ?? f[`processors.${line.name.trim()}`];
            return (
              <li key={index} class="queue-line">
                <Field id={`supervisor-queue-${index}`} label={`Queue ${index + 1}`} error={queueProblem}>
                  <input
                    value={line.name}
                    autoComplete="off"
                    maxLength={100}
                    onInput={(event) => setQueue(index, { name: event.currentTarget.value })}
                    {...fieldAria(`supervisor-queue-${index}`, queueProblem)}
                  />
                </Field>
                <Field
                  id={`supervisor-processor-${index}`}
                  label={`Processor module ${index + 1}`}
                  error={processorProblem}
                >
                  <input
                    value={line.processor}
                    autoComplete="off"
                    maxLength={1024}
                    placeholder={v.defaultProcessor ? `default: ${v.defaultProcessor}` : 'emails.mjs'}
                    onInput={(event) => setQueue(index, { processor: event.currentTarget.value })}
                    {...fieldAria(`supervisor-processor-${index}`, processorProblem)}
                  />
                </Field>
                <button
                  type="button"
                  class="button-quiet"
                  aria-label={`Remove queue ${index + 1}${line.name ? ` (${line.name})` : ''}`}
                  disabled={v.queues.length === 1}
                  onClick={() => update({ queues: v.queues.filter((_, at) => at !== index) })}
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
        <button
          type="button"
          disabled={v.queues.length >= MAX_QUEUES}
          onClick={() => update({ queues: [...v.queues, { name: '', processor: '' }] })}
        >
          Add a queue
        </button>
        <Field
          id="supervisor-default-processor"
          label="Default processor module"
          hint="For every queue without its own. Paths are relative to each host's processors directory (--processors-dir)."
          error={e('processors.*')}
        >
          <input
            value={v.defaultProcessor}
            autoComplete="off"
            maxLength={1024}
            onInput={(event) => update({ defaultProcessor: event.currentTarget.value })}
            {...fieldAria('supervisor-default-processor', e('processors.*'), true)}
          />
        </Field>
      </fieldset>

      <div class="config-grid config-numbers">
        {(Object.keys(NUMBER_FIELDS) as NumberField[]).map((field) => {
          const bounds = NUMBER_FIELDS[field];
          const id = `supervisor-${field}`;
          return (
            <Field
              key={field}
              id={id}
              label={NUMBER_LABELS[field].label}
              hint={`${NUMBER_LABELS[field].hint} (${bounds.min}–${bounds.max.toLocaleString('en')})`}
              error={e(field)}
            >
              <input
                type="number"
                min={bounds.min}
                max={bounds.max}
                step={bounds.whole ? 1 : 'any'}
                value={v.numbers[field]}
                placeholder={field === 'maxProcesses' ? 'minimum × queues' : undefined}
                onInput={(event) => update({ numbers: { ...v.numbers, [field]: event.currentTarget.value } })}
                {...fieldAria(id, e(field), true)}
              />
            </Field>
          );
        })}
        <Field
          id="supervisor-balance"
          label="Balance"
          hint="simple: evenly over the queues; auto: by each queue's time to clear"
          error={e('balance')}
        >
          <select
            onChange={(event) => update({ balance: event.currentTarget.value })}
            {...fieldAria('supervisor-balance', e('balance'), true)}
          >
            {BALANCES.map((choice) => (
              <option key={choice} value={choice} selected={choice === v.balance}>
                {choice}
              </option>
            ))}
          </select>
        </Field>
        <Field
          id="supervisor-labels"
          label="Host labels"
          hint="Comma-separated. Hosts with all of these labels run it; empty: every host that allows processors."
          error={e('labels')}
          wide
        >
          <input
            autoComplete="off"
            value={v.labels}
            placeholder="web, eu-west"
            onInput={(event) => update({ labels: event.currentTarget.value })}
            {...fieldAria('supervisor-labels', e('labels'), true)}
          />
        </Field>
      </div>
    </DialogForm>
  );
}

/** Delete after asking: the hosts running it let its processes finish their jobs, then stop them. */
export function DeleteSupervisorConfigDialog({
  config,
  onClose,
  onDeleted,
}: {
  config: SupervisorConfig | null;
  onClose: () => void;
  onDeleted: (config: SupervisorConfig) => void;
}) {
  async function remove(): Promise<string | null> {
    if (!config) return null;
    try {
      const response = await api.api.supervisors.configs[':id'].$delete({ param: { id: config.id } });
      if (!response.ok) return (await refusalOf(response)).message;
    } catch {
      return UNREACHABLE.message;
    }
    onDeleted(config);
    return null;
  }
  return (
    <ModalDialog open={config !== null} onClose={onClose} titleId="delete-supervisor-title">
      {config && (
        <DialogForm
          titleId="delete-supervisor-title"
          title="Delete this supervisor?"
          submitLabel="Delete"
          danger
          onSubmit={remove}
          onCancel={onClose}
        >
          <p class="dialog-subject">{config.name}</p>
          <p>Hosts running it let its worker processes finish their jobs, then stop them.</p>
        </DialogForm>
      )}
    </ModalDialog>
  );
}
