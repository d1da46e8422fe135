import type { CreateSupervisorConfigBody, SupervisorConfig, SupervisorConfigPatch } from '../api/config';

/**
 * The supervisor form's values checked with the bounds of the API (core/config/supervisor-fields.ts
 * and functions/schemas/supervisor-configs.ts; test/web/config-forms.test.ts keeps the
 * two in step), so a mistake shows next to its field before anything is sent. The API stays the
 * authority: its refusals show the same way.
 */

/** Each number's bounds and default; `whole` ones are counts, the others seconds. */
export const NUMBER_FIELDS = {
  minProcesses: { min: 0, max: 1000, default: 1, whole: true },
  maxProcesses: { min: 1, max: 1000, default: null, whole: true },
  concurrency: { min: 1, max: 1000, default: 1, whole: true },
  tries: { min: 1, max: 1000, default: 1, whole: true },
  timeout: { min: 0, max: 24 * 3600, default: 60, whole: false },
  memory: { min: 0, max: 1_000_000, default: 512, whole: true },
  sleep: { min: 0, max: 300, default: 3, whole: false },
  rest: { min: 0, max: 3600, default: 0, whole: false },
} as const;
export type NumberField = keyof typeof NUMBER_FIELDS;

export const BALANCES = ['simple', 'auto'] as const;
export const MAX_QUEUES = 100;
export const MAX_LABELS = 32;

const IDENTIFIER = /^[\x21-\x7e]+$/;
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

type Fields = Record<string, string>;

/** One line of the queue list: a queue and the module that processes its jobs. */
export interface QueueLine {
  name: string;
  processor: string;
}

export interface SupervisorFormValues {
  name: string;
  connection: string;
  queues: QueueLine[];
  /** The module of every queue without its own (`*`); empty for none. */
  defaultProcessor: string;
  numbers: Record<NumberField, string>;
  balance: string;
  labels: string;
}

function identifierProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 100) return 'must be at most 100 characters';
  return IDENTIFIER.test(value) ? null : 'must be printable ASCII without spaces';
}

/** As core/config/supervisor-fields.ts's processorPathProblem: relative, inside the directory. */
export function processorPathProblem(path: string): string | null {
  if (path.length === 0) return 'must be a module path';
  if (path.length > 1024) return 'must be at most 1024 characters';
  if ([...path].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f))
    return 'must not contain control characters';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path) || path.startsWith('~'))
    return "must be relative to the host's processors directory, not an absolute path";
  if (path.includes('\\')) return 'must use / between directories';
  if (path.split('/').some((part) => part === '..'))
    return "must stay inside the host's processors directory: `..` is not allowed";
  return null;
}

export function parseLabels(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((label) => label.trim())
        .filter(Boolean),
    ),
  ];
}

function numberOf(field: NumberField, raw: string, fields: Fields): number | undefined {
  const bounds = NUMBER_FIELDS[field];
  const text = raw.trim();
  if (text === '') {
    if (bounds.default === null) return undefined;
    return bounds.default;
  }
  const value = Number(text);
  if (!Number.isFinite(value)) fields[field] = 'must be a number';
  else if (bounds.whole && !Number.isInteger(value)) fields[field] = 'must be a whole number';
  else if (value < bounds.min) fields[field] = `must be at least ${bounds.min}`;
  else if (value > bounds.max) fields[field] = `must be at most ${bounds.max}`;
  else return value;
  return undefined;
}

export type Checked<T> = { ok: true; body: T } | { ok: false; fields: Fields };

/** The whole configuration as a create body, or what is wrong with the form. */
export function configBodyOf(values: SupervisorFormValues): Checked<CreateSupervisorConfigBody> {
  const fields: Fields = {};
  const name = values.name.trim();
  const nameProblem = identifierProblem(name);
  if (nameProblem) fields.name = nameProblem;
  const connection = values.connection.trim();
  if (!connection) fields.connection = 'choose a connection';

  const lines = values.queues
    .map((line) => ({ name: line.name.trim(), processor: line.processor.trim() }))
    .filter((line) => line.name || line.processor);
  const defaultProcessor = values.defaultProcessor.trim();
  if (lines.length === 0) fields.queues = 'must name at least one queue';
  if (lines.length > MAX_QUEUES) fields.queues = `must name at most ${MAX_QUEUES} queues`;
  const seen = new Set<string>();
  const processors: Record<string, string> = {};
  lines.forEach((line, index) => {
    const problem = identifierProblem(line.name);
    if (problem) fields[`queues.${index}`] = problem;
    else if (seen.has(line.name)) fields[`queues.${index}`] = `lists "${line.name}" twice`;
    seen.add(line.name);
    if (line.processor) {
      const pathProblem = processorPathProblem(line.processor);
      if (pathProblem) fields[`processors.${index}`] = pathProblem;
      processors[line.name] = line.processor;
    } else if (!defaultProcessor) {
      fields[`processors.${index}`] = 'give a module, or a default module for every queue';
    }
  });
  if (defaultProcessor) {
    const problem = processorPathProblem(defaultProcessor);
    if (problem) fields['processors.*'] = problem;
    processors['*'] = defaultProcessor;
  }

  const numbers: Partial<Record<NumberField, number>> = {};
  for (const field of Object.keys(NUMBER_FIELDS) as NumberField[]) {
    const value = numberOf(field, values.numbers[field], fields);
    if (value !== undefined) numbers[field] = value;
  }
  const min = numbers.minProcesses;
  const max = numbers.maxProcesses;
  if (min !== undefined && max !== undefined && max < min * lines.length) {
    fields.maxProcesses = `must be at least minimum × queues (${min} × ${lines.length} = ${min * lines.length})`;
  }

  const balance = BALANCES.find((choice) => choice === values.balance);
  if (!balance) fields.balance = 'must be simple or auto';
  const labels = parseLabels(values.labels);
  const badLabel = labels.find((label) => !LABEL_PATTERN.test(label));
  if (badLabel !== undefined)
    fields.labels = `"${badLabel}" must be letters, digits, ".", "_" or "-" (at most 63, starting with a letter or digit)`;
  else if (labels.length > MAX_LABELS) fields.labels = `at most ${MAX_LABELS} labels`;

  if (Object.keys(fields).length > 0 || !balance) return { ok: false, fields };
  return {
    ok: true,
    body: {
      name,
      connection,
      queues: lines.map((line) => line.name),
      ...numbers,
      balance,
      processors,
      labels,
    } as CreateSupervisorConfigBody,
  };
}

/** The change from `config` to the form: only the fields that differ. */
export function configPatchOf(
  config: SupervisorConfig,
  values: SupervisorFormValues,
): Checked<SupervisorConfigPatch> {
  const checked = configBodyOf(values);
  if (!checked.ok) return checked;
  const body = checked.body as Record<string, unknown>;
  const before: Record<string, unknown> = { ...config, labels: [...config.labels].sort() };
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const same =
      key === 'labels'
        ? JSON.stringify([...(value as string[])].sort()) === JSON.stringify(before.labels)
        : key === 'processors'
          ? sameRecord(value as Record<string, string>, config.processors)
          : JSON.stringify(value) === JSON.stringify(before[key]);
    if (!same) patch[key] = value;
  }
  return { ok: true, body: patch as SupervisorConfigPatch };
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** The form's values for an existing configuration, or the defaults for a new one. */
export function formValuesOf(config: SupervisorConfig | null, connection = ''): SupervisorFormValues {
  const numbers = Object.fromEntries(
    (Object.keys(NUMBER_FIELDS) as NumberField[]).map((field) => [
      field,
      config
        ? String(config[field])
        : NUMBER_FIELDS[field].default === null
          ? ''
          : String(NUMBER_FIELDS[field].default),
    ]),
  ) as Record<NumberField, string>;
  return {
    name: config?.name ?? '',
    connection: config?.connection ?? connection,
    queues: config
      ? config.queues.map((queue) => ({ name: queue, processor: config.processors[queue] ?? '' }))
      : [{ name: '', processor: '' }],
    defaultProcessor: config?.processors['*'] ?? '',
    numbers,
    balance: config?.balance ?? 'simple',
    labels: config?.labels.join(', ') ?? '',
  };
}
