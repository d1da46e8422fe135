import type { AlertKind, AlertParams, AlertScope } from '../../drizzle/schema';

/**
 * What one evaluation of a rule found about one subject (a hostname, a host id, a connection, a
 * queue): whether the rule's condition holds (`bad`), the measured value and a sentence for people.
 */
export interface Observation {
  subject: string;
  bad: boolean;
  value: number | null;
  message: string;
  /** The scope keys the subject falls in (see `scopeKey`), for matching silences. */
  scopes: string[];
  /** What the kind keeps for the next evaluation (crash_loop: restart counts over time). */
  memory?: unknown;
}

/** The part of a rule the sources read. */
export interface RuleToObserve {
  kind: AlertKind;
  scope: AlertScope;
  params: AlertParams;
}

/** One string per scope, so a silence's scope can be matched against a subject's scopes. */
export function scopeKey(scope: AlertScope): string {
  switch (scope.type) {
    case 'all':
      return 'all';
    case 'connection':
      return `connection:${scope.connection}`;
    case 'queue':
      return `queue:${JSON.stringify([scope.connection, scope.queue])}`;
    case 'host':
      return `host:${scope.label}`;
  }
}

/** A threshold of the rule, validated by the API when the rule was written. */
export function param(rule: RuleToObserve, name: string): number {
  const value = rule.params[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`rule parameter ${name} is missing`);
  }
  return value;
}

/** A number for a message: whole numbers as is, others with at most one decimal. */
export function shown(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * The reads of one evaluation run, shared by its rules: ten queue rules read the queues once, not
 * ten times. Keyed by what was read (and its window).
 */
export class RunReads {
  readonly #reads = new Map<string, Promise<unknown>>();

  once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let pending = this.#reads.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = read();
      this.#reads.set(key, pending);
    }
    return pending;
  }
}
