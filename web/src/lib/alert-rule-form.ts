import {
  type AlertKind,
  type AlertRule,
  type AlertRulePatch,
  type AlertScope,
  type CreateAlertRuleBody,
  KINDS,
} from '../api/alerts';

/**
 * A rule's dialog read into the API's body. Only the form's own shape is handled here (numbers,
 * the scope's parts, the channels ticked); what the values may be is the API's to say, and its
 * refusal is shown next to each field.
 */

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** A number field: empty stays out of the body, so the API names it as missing. */
function number(form: FormData, name: string): number | undefined {
  const value = text(form, name);
  return value === '' ? undefined : Number(value);
}

export function scopeOf(form: FormData): AlertScope {
  const type = text(form, 'scopeType');
  if (type === 'connection') return { type, connection: text(form, 'scopeConnection') };
  if (type === 'queue')
    return { type, connection: text(form, 'scopeConnection'), queue: text(form, 'scopeQueue') };
  if (type === 'host') return { type, label: text(form, 'scopeLabel') };
  return { type: 'all' };
}

function paramsOf(kind: AlertKind, form: FormData): Record<string, number> {
  const params: Record<string, number> = {};
  for (const shape of KINDS[kind].params) {
    const value = number(form, `param.${shape.name}`);
    if (value !== undefined) params[shape.name] = value;
  }
  return params;
}

function common(kind: AlertKind, form: FormData) {
  return {
    name: text(form, 'name'),
    scope: scopeOf(form),
    params: paramsOf(kind, form),
    forEvaluations: number(form, 'forEvaluations'),
    renotifyMinutes: number(form, 'renotifyMinutes'),
    channelIds: form.getAll('channelIds').filter((id): id is string => typeof id === 'string'),
    enabled: form.get('enabled') === 'on',
  };
}

export function createRuleBody(kind: AlertKind, form: FormData): CreateAlertRuleBody {
  // The kind picks the API's variant; its checks (thresholds, scope for the kind) are the API's.
  return { kind, ...common(kind, form) } as CreateAlertRuleBody;
}

/** Every field of the dialog, as a change: the API checks the rule as a whole against its kind. */
export function rulePatch(rule: AlertRule, form: FormData): AlertRulePatch {
  return common(rule.kind, form) as AlertRulePatch;
}
