import { describe, expect, it } from 'vitest';
import {
  CreateAlertChannelBodySchema,
  UpdateAlertChannelBodySchema,
} from '../../functions/schemas/alert-channels';
import { CreateSilenceBodySchema } from '../../functions/schemas/alert-history';
import { CreateAlertRuleBodySchema, PARAM_SHAPES } from '../../functions/schemas/alert-rules';
import { ALERT_KINDS, type AlertChannel, type AlertRule, KINDS, SCOPES_OF } from '../../web/src/api/alerts';
import { createRuleBody, rulePatch } from '../../web/src/lib/alert-rule-form';
import { channelPatch, createChannelBody } from '../../web/src/lib/channel-form';
import { silenceBody } from '../../web/src/lib/silence-form';

/**
 * The Alerts page's forms ask for what the API takes: each kind's threshold fields are the API's
 * params, the scopes offered for a kind are those the API accepts, and a filled-in form reads into
 * a body the API's own schema accepts.
 */

function form(entries: Record<string, string | string[]>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(entries))
    for (const one of Array.isArray(value) ? value : [value]) data.append(name, one);
  return data;
}

const SCOPE_FIELDS = {
  all: {},
  connection: { scopeConnection: 'main' },
  queue: { scopeConnection: 'main', scopeQueue: 'emails' },
  host: { scopeLabel: 'eu-west' },
} as const;

describe('the alert rule form', () => {
  it("asks, for each kind, for exactly the API's thresholds", () => {
    expect(new Set(ALERT_KINDS)).toEqual(new Set(Object.keys(PARAM_SHAPES)));
    for (const kind of ALERT_KINDS) {
      expect(KINDS[kind].params.map((param) => param.name).sort(), kind).toEqual(
        Object.keys(PARAM_SHAPES[kind].shape).sort(),
      );
    }
  });

  it('offers for each kind the scopes the API accepts, and only those', () => {
    for (const kind of ALERT_KINDS) {
      const params = Object.fromEntries(
        KINDS[kind].params.map((param) => [`param.${param.name}`, String(param.min)]),
      );
      for (const scope of ['all', 'connection', 'queue', 'host'] as const) {
        const body = createRuleBody(
          kind,
          form({
            name: `rule ${kind}`,
            scopeType: scope,
            ...SCOPE_FIELDS[scope],
            ...params,
            forEvaluations: '2',
            renotifyMinutes: '60',
            enabled: 'on',
          }),
        );
        const parsed = CreateAlertRuleBodySchema.safeParse(body);
        expect(parsed.success, `${kind} ${scope}`).toBe(SCOPES_OF[kind].includes(scope));
      }
    }
  });

  it('reads thresholds at their bounds as the API takes them; an empty one is left for the API to name', () => {
    for (const kind of ALERT_KINDS) {
      for (const bound of ['min', 'max'] as const) {
        const params = Object.fromEntries(
          KINDS[kind].params.map((param) => [`param.${param.name}`, String(param[bound])]),
        );
        const body = createRuleBody(
          kind,
          form({ name: 'r', scopeType: 'all', forEvaluations: '1', renotifyMinutes: '1', ...params }),
        );
        expect(CreateAlertRuleBodySchema.safeParse(body).success, `${kind} ${bound}`).toBe(true);
      }
    }
    const missing = CreateAlertRuleBodySchema.safeParse(
      createRuleBody('host_down', form({ name: 'r', scopeType: 'all', 'param.seconds': '' })),
    );
    expect(missing.success).toBe(false);
    expect(missing.error?.issues.map((issue) => issue.path.join('.'))).toContain('params.seconds');
  });

  it('sends a change with the channels ticked and the box unticked as disabled', () => {
    const rule = { kind: 'queue_depth' } as AlertRule;
    const patch = rulePatch(
      rule,
      form({
        name: 'deep',
        scopeType: 'queue',
        scopeConnection: 'main',
        scopeQueue: 'emails',
        'param.waiting': '100',
        forEvaluations: '3',
        renotifyMinutes: '30',
        channelIds: ['0b5d3c1e-7f0a-4c8e-9a52-2f7f8f1d9c11', '4a0e9a60-51c2-4b9f-8a0e-0e6b3c9d2f44'],
      }),
    );
    expect(patch).toEqual({
      name: 'deep',
      scope: { type: 'queue', connection: 'main', queue: 'emails' },
      params: { waiting: 100 },
      forEvaluations: 3,
      renotifyMinutes: 30,
      channelIds: ['0b5d3c1e-7f0a-4c8e-9a52-2f7f8f1d9c11', '4a0e9a60-51c2-4b9f-8a0e-0e6b3c9d2f44'],
      enabled: false,
    });
    expect(CreateAlertRuleBodySchema.safeParse({ ...patch, kind: 'queue_depth' }).success).toBe(true);
  });
});

describe('the silence form', () => {
  const later = new Date(Date.now() + 3_600_000);
  const local = `${later.getFullYear()}-${String(later.getMonth() + 1).padStart(2, '0')}-${String(later.getDate()).padStart(2, '0')}T${String(later.getHours()).padStart(2, '0')}:${String(later.getMinutes()).padStart(2, '0')}`;

  it('silences a rule, or a scope, until a local time, in a body the API takes', () => {
    const id = '0b5d3c1e-7f0a-4c8e-9a52-2f7f8f1d9c11';
    const byRule = silenceBody(form({ target: `rule:${id}`, until: local, reason: 'deploy' }));
    expect(byRule).toMatchObject({ ruleId: id, reason: 'deploy' });
    expect(Date.parse(byRule.endsAt)).toBe(new Date(local).getTime());
    expect(CreateSilenceBodySchema.safeParse(byRule).success).toBe(true);

    const byQueue = silenceBody(
      form({
        target: 'scope:queue',
        scopeConnection: 'main',
        scopeQueue: 'emails',
        until: local,
        reason: 'r',
      }),
    );
    expect(byQueue.scope).toEqual({ type: 'queue', connection: 'main', queue: 'emails' });
    expect(CreateSilenceBodySchema.safeParse(byQueue).success).toBe(true);
  });

  it('sends an unreadable time as typed, for the API to refuse by its field', () => {
    const body = silenceBody(form({ target: 'scope:all', until: 'tomorrow-ish', reason: 'r' }));
    expect(body.endsAt).toBe('tomorrow-ish');
    const parsed = CreateSilenceBodySchema.safeParse(body);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain('endsAt');
  });
});

describe('the channel form', () => {
  it('reads each kind into a body the API takes', () => {
    const webhook = createChannelBody(
      'webhook',
      form({
        name: 'ops',
        url: 'https://hooks.example.com/x',
        secret: 'a-secret-of-16-chars',
        enabled: 'on',
      }),
    );
    expect(CreateAlertChannelBodySchema.safeParse(webhook).success).toBe(true);
    const slack = createChannelBody(
      'slack',
      form({ name: 'chat', url: 'https://hooks.slack.com/services/T/B/X' }),
    );
    expect(slack).toMatchObject({ enabled: false });
    expect(CreateAlertChannelBodySchema.safeParse(slack).success).toBe(true);
    const email = createChannelBody(
      'email',
      form({ name: 'mail', to: 'a@example.com\n b@example.com ,c@example.com\n\n' }),
    );
    expect(email).toMatchObject({ to: ['a@example.com', 'b@example.com', 'c@example.com'] });
    expect(CreateAlertChannelBodySchema.safeParse(email).success).toBe(true);
  });

  it('keeps a stored URL and secret when their fields are left empty, and replaces them when filled', () => {
    const channel = { kind: 'webhook' } as AlertChannel;
    expect(channelPatch(channel, form({ name: 'ops', url: '', secret: '', enabled: 'on' }))).toEqual({
      name: 'ops',
      enabled: true,
    });
    const replaced = channelPatch(
      channel,
      form({ name: 'ops', url: 'https://hooks.example.com/new', secret: 'another-secret-16+' }),
    );
    expect(replaced).toEqual({
      name: 'ops',
      enabled: false,
      url: 'https://hooks.example.com/new',
      secret: 'another-secret-16+',
    });
    expect(UpdateAlertChannelBodySchema.safeParse(replaced).success).toBe(true);
  });
});
