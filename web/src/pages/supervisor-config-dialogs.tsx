import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from '../api/client';
import type { Connection, SupervisorConfig } from '../api/config';
import { type Refusal, refusalOf, UNREACHABLE } from '../api/field-errors';
import { DialogForm } from '../components/dialog-form';
import { FieldError, invalid } from '../components/field-error';
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

const FORM_ID = 'supervisor-form';
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
      onSubmit={submit}
      onCancel={onClose}
    >
      <div class="config-grid">
        <label>
          Name
          <input
            name="name"
            maxLength={100}
            autoComplete="off"
            value={v.name}
            onInput={(event) => update({ name: event.currentTarget.value })}
            {...invalid(f, 'name', FORM_ID)}
          />
          <FieldError fields={f} field="name" formId={FORM_ID} />
        </label>
        <label>
          Connection
          <select
            name="connection"
            onChange={(event) => update({ connection: event.currentTarget.value })}
            {...invalid(f, 'connection', FORM_ID)}
          >
            {connectionNames.length === 0 && <option value="">No connections yet</option>}
            {connectionNames.map((name) => (
              <option key={name} value={name} selected={name === v.connection}>
                {name}
              </option>
            ))}
          </select>
          {typeof connections.value === 'string' && (
            <span class="field-error">Cannot list the connections: {connections.value}</span>
          )}
          <FieldError fields={f} field="connection" formId={FORM_ID} />
        </label>
      </div>

      <fieldset class="config-queues">
        <legend>Queues and their processor modules</legend>
        <QueueDiscovery connectionId={chosen?.id ?? null} chosen={queueNames} onToggle={toggleQueue} />
        {f.queues !== undefined && (
          <span class="field-error" id={`${FORM_ID}-queues-error`}>
            {f.queues}
          </span>
        )}
        <ul class="queue-lines">
          {v.queues.map((line, index) => {
            const queueProblem = f[`queues.${index}`];
            const processorProblem = f[`processors.${index}`] ?? f[`processors.${line.name.trim()}`];
            return (
              <li key={index} class="queue-line">
                <label>
                  Queue {index + 1}
                  <input
                    value={line.name}
                    autoComplete="off"
                    maxLength={100}
                    onInput={(event) => setQueue(index, { name: event.currentTarget.value })}
                    aria-invalid={queueProblem ? true : undefined}
                    aria-describedby={queueProblem ? `${FORM_ID}-queue-${index}-error` : undefined}
                  />
                  {queueProblem && (
                    <span class="field-error" id={`${FORM_ID}-queue-${index}-error`}>
                      {queueProblem}
                    </span>
                  )}
                </label>
                <label>
                  Processor module {index + 1}
                  <input
                    value={line.processor}
                    autoComplete="off"
                    maxLength={1024}
                    placeholder={v.defaultProcessor ? `default: ${v.defaultProcessor}` : 'emails.mjs'}
                    onInput={(event) => setQueue(index, { processor: event.currentTarget.value })}
                    aria-invalid={processorProblem ? true : undefined}
                    aria-describedby={processorProblem ? `${FORM_ID}-processor-${index}-error` : undefined}
                  />
                  {processorProblem && (
                    <span class="field-error" id={`${FORM_ID}-processor-${index}-error`}>
                      {processorProblem}
                    </span>
                  )}
                </label>
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
        <label>
          Default processor module
          <input
            value={v.defaultProcessor}
            autoComplete="off"
            maxLength={1024}
            placeholder="for every queue without its own"
            onInput={(event) => update({ defaultProcessor: event.currentTarget.value })}
            {...invalid(f, 'processors.*', FORM_ID)}
            aria-describedby={
              f['processors.*'] ? `${FORM_ID}-processors.*-error` : 'supervisor-processor-hint'
            }
          />
          <span class="hint" id="supervisor-processor-hint">
            Paths are relative to each host's processors directory (--processors-dir).
          </span>
          <FieldError fields={f} field="processors.*" formId={FORM_ID} />
        </label>
      </fieldset>

      <div class="config-grid config-numbers">
        {(Object.keys(NUMBER_FIELDS) as NumberField[]).map((field) => {
          const bounds = NUMBER_FIELDS[field];
          return (
            <label key={field}>
              {NUMBER_LABELS[field].label}
              <input
                type="number"
                name={field}
                min={bounds.min}
                max={bounds.max}
                step={bounds.whole ? 1 : 'any'}
                value={v.numbers[field]}
                placeholder={field === 'maxProcesses' ? 'minimum × queues' : undefined}
                onInput={(event) => update({ numbers: { ...v.numbers, [field]: event.currentTarget.value } })}
                {...invalid(f, field, FORM_ID)}
                aria-describedby={f[field] ? `${FORM_ID}-${field}-error` : `${FORM_ID}-${field}-hint`}
              />
              <span class="hint" id={`${FORM_ID}-${field}-hint`}>
                {NUMBER_LABELS[field].hint} ({bounds.min}–{bounds.max.toLocaleString('en')})
              </span>
              <FieldError fields={f} field={field} formId={FORM_ID} />
            </label>
          );
        })}
        <label>
          Balance
          <select name="balance" onChange={(event) => update({ balance: event.currentTarget.value })}>
            {BALANCES.map((choice) => (
              <option key={choice} value={choice} selected={choice === v.balance}>
                {choice}
              </option>
            ))}
          </select>
          <span class="hint">simple: evenly over the queues; auto: by each queue's time to clear</span>
        </label>
        <label>
          Host labels
          <input
            name="labels"
            autoComplete="off"
            value={v.labels}
            placeholder="web, eu-west"
            onInput={(event) => update({ labels: event.currentTarget.value })}
            {...invalid(f, 'labels', FORM_ID)}
            aria-describedby={f.labels ? `${FORM_ID}-labels-error` : 'supervisor-labels-hint'}
          />
          <span class="hint" id="supervisor-labels-hint">
            Comma-separated. Hosts with all of these labels run it; empty: every host that allows processors.
          </span>
          <FieldError fields={f} field="labels" formId={FORM_ID} />
        </label>
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
