import type { AlertScope, CreateSilenceBody } from '../api/alerts';
import { scopeOf } from './alert-rule-form';

/** A local date and time as <input type="datetime-local"> takes it: 2026-05-01T14:30. */
export function localInputValue(at: number): string {
  const date = new Date(at);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * The silence dialog read into the API's body: `target` is `rule:<id>` or `scope:<type>`; `until`
 * is local time. An unreadable time is sent as typed, so the API names the field.
 */
export function silenceBody(form: FormData): CreateSilenceBody {
  const target = String(form.get('target') ?? '');
  const until = String(form.get('until') ?? '').trim();
  const at = new Date(until);
  const endsAt = until !== '' && !Number.isNaN(at.getTime()) ? at.toISOString() : until;
  const reason = String(form.get('reason') ?? '').trim();
  if (target.startsWith('rule:')) return { ruleId: target.slice('rule:'.length), endsAt, reason };
  const type = target.slice('scope:'.length);
  const scoped = new FormData();
  scoped.set('scopeType', type);
  for (const name of ['scopeConnection', 'scopeQueue', 'scopeLabel'])
    scoped.set(name, String(form.get(name) ?? ''));
  const scope: AlertScope = scopeOf(scoped);
  return { scope, endsAt, reason };
}
