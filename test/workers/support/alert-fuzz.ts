import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { adminHeaders, call, unique } from './api';
import type { FuzzRoute, WatchedRows } from './fuzz';

/**
 * The alert routes' part of the fuzz run over the OpenAPI document (test/workers/bad-input.test.ts):
 * a rule, a channel and a silence to aim at, the cases, and the rows that must not change.
 */

export interface AlertTargets {
  ruleId: string;
  channelId: string;
  silenceId: string;
}

async function created(path: string, json: unknown): Promise<string> {
  const response = await call(path, { method: 'POST', headers: adminHeaders(), json });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json<{ id: string }>()).id;
}

export async function createAlertTargets(): Promise<AlertTargets> {
  const channelId = await created('/api/alerts/channels', {
    kind: 'webhook',
    name: unique('fuzz-target-channel'),
    url: 'http://127.0.0.1:1/fuzz',
    secret: 'fuzz target signing secret',
  });
  const ruleId = await created('/api/alerts/rules', {
    name: unique('fuzz-target-rule'),
    kind: 'failure_rate',
    scope: { type: 'queue', connection: 'default', queue: 'fuzz' },
    params: { percent: 50, minJobs: 10, minutes: 5 },
    channelIds: [channelId],
    enabled: false,
  });
  const silenceId = await created('/api/alerts/silences', {
    ruleId,
    endsAt: new Date(Date.now() + 86_400_000).toISOString(),
    reason: 'fuzz target silence',
  });
  return { ruleId, channelId, silenceId };
}

export async function removeAlertTargets(
  db: { execute(query: ReturnType<typeof sql>): Promise<unknown> },
  targets: AlertTargets | undefined,
): Promise<void> {
  if (!targets) return;
  await db.execute(sql`delete from watchtower_alert_silences where id = ${targets.silenceId}`);
  await db.execute(sql`delete from watchtower_alert_rules where id = ${targets.ruleId}`);
  await db.execute(sql`delete from watchtower_alert_channels where id = ${targets.channelId}`);
}

export function alertFuzzRoutes(targets: AlertTargets): FuzzRoute[] {
  const future = new Date(Date.now() + 3_600_000).toISOString();
  return [
    { method: 'GET', path: '/api/alerts', query: { limit: '10', cursor: '100', ruleId: targets.ruleId } },
    {
      method: 'GET',
      path: '/api/alerts/deliveries',
      query: { limit: '10', cursor: '100', status: 'failed', channelId: targets.channelId },
    },
    { method: 'GET', path: '/api/alerts/rules', query: { limit: '10', cursor: 'WyJhIl0' } },
    {
      method: 'POST',
      path: '/api/alerts/rules',
      body: {
        name: unique('fuzz-rule'),
        kind: 'queue_depth',
        scope: { type: 'all' },
        params: { waiting: 100 },
        forEvaluations: 2,
        renotifyMinutes: 60,
        channelIds: [targets.channelId],
        enabled: false,
      },
      freeText: ['name'],
      badBodies: [
        {
          label: 'params of another kind',
          body: { name: unique('fuzz-rule'), kind: 'queue_depth', params: { seconds: 1 } },
        },
        {
          label: 'a scope the kind does not take',
          body: {
            name: unique('fuzz-rule'),
            kind: 'host_down',
            scope: { type: 'queue', connection: 'a', queue: 'b' },
            params: { seconds: 10 },
          },
        },
        {
          label: 'a scope with an unknown type',
          body: { name: unique('fuzz-rule'), kind: 'connection_down', scope: { type: 'everything' } },
        },
        {
          label: 'a NaN-like threshold',
          body: { name: unique('fuzz-rule'), kind: 'queue_depth', params: { waiting: '1e309' } },
        },
        {
          label: 'an unknown channel',
          body: { name: unique('fuzz-rule'), kind: 'connection_down', channelIds: [crypto.randomUUID()] },
        },
      ],
    },
    {
      operation: 'GET /api/alerts/rules/{id}',
      method: 'GET',
      path: `/api/alerts/rules/${targets.ruleId}`,
      idTemplate: '/api/alerts/rules/{id}',
    },
    {
      operation: 'PATCH /api/alerts/rules/{id}',
      method: 'PATCH',
      path: `/api/alerts/rules/${targets.ruleId}`,
      body: { name: unique('fuzz-rule-renamed'), forEvaluations: 3, renotifyMinutes: 30, enabled: false },
      freeText: ['name'],
      idTemplate: '/api/alerts/rules/{id}',
      badBodies: [
        { label: 'params of another kind', body: { params: { waiting: 3 } } },
        { label: 'the kind', body: { kind: 'queue_depth' } },
      ],
    },
    {
      operation: 'DELETE /api/alerts/rules/{id}',
      method: 'DELETE',
      path: `/api/alerts/rules/${targets.ruleId}`,
      idTemplate: '/api/alerts/rules/{id}',
    },
    { method: 'GET', path: '/api/alerts/channels', query: { limit: '10', cursor: 'WyJhIl0' } },
    {
      method: 'POST',
      path: '/api/alerts/channels',
      body: {
        kind: 'webhook',
        name: unique('fuzz-channel'),
        url: 'https://example.com/hook',
        secret: 'a long enough secret',
      },
      freeText: ['name', 'secret'],
      badBodies: [
        {
          label: 'plain http elsewhere',
          body: { kind: 'slack', name: unique('fuzz-channel'), url: 'http://example.com/x' },
        },
        {
          label: 'a javascript URL',
          body: { kind: 'slack', name: unique('fuzz-channel'), url: 'javascript:alert(1)' },
        },
        { label: 'email without recipients', body: { kind: 'email', name: unique('fuzz-channel'), to: [] } },
      ],
    },
    {
      operation: 'GET /api/alerts/channels/{id}',
      method: 'GET',
      path: `/api/alerts/channels/${targets.channelId}`,
      idTemplate: '/api/alerts/channels/{id}',
    },
    {
      operation: 'PATCH /api/alerts/channels/{id}',
      method: 'PATCH',
      path: `/api/alerts/channels/${targets.channelId}`,
      body: {
        name: unique('fuzz-channel-renamed'),
        url: 'https://example.com/other',
        secret: 'another long secret',
        enabled: false,
      },
      freeText: ['name', 'secret'],
      idTemplate: '/api/alerts/channels/{id}',
      badBodies: [{ label: 'recipients on a webhook', body: { to: ['a@example.com'] } }],
    },
    {
      operation: 'DELETE /api/alerts/channels/{id}',
      method: 'DELETE',
      path: `/api/alerts/channels/${targets.channelId}`,
      idTemplate: '/api/alerts/channels/{id}',
    },
    {
      operation: 'POST /api/alerts/channels/{id}/test',
      method: 'POST',
      path: `/api/alerts/channels/${targets.channelId}/test`,
      idTemplate: '/api/alerts/channels/{id}/test',
    },
    { method: 'GET', path: '/api/alerts/silences', query: { limit: '10', all: 'true' } },
    {
      method: 'POST',
      path: '/api/alerts/silences',
      body: { ruleId: targets.ruleId, endsAt: future, reason: 'fuzz' },
      freeText: ['reason'],
      badBodies: [
        {
          label: 'both a rule and a scope',
          body: { ruleId: targets.ruleId, scope: { type: 'all' }, endsAt: future, reason: 'x' },
        },
        {
          label: 'an end in the past',
          body: { ruleId: targets.ruleId, endsAt: '2001-01-01T00:00:00Z', reason: 'x' },
        },
      ],
    },
    {
      operation: 'DELETE /api/alerts/silences/{id}',
      method: 'DELETE',
      path: `/api/alerts/silences/${targets.silenceId}`,
      idTemplate: '/api/alerts/silences/{id}',
    },
  ];
}

export function alertWatches(targets: AlertTargets): WatchedRows[] {
  return [
    {
      label: 'the target alert rule',
      query: sql`select * from watchtower_alert_rules where id = ${targets.ruleId}`,
    },
    {
      label: 'the target alert channel',
      query: sql`select * from watchtower_alert_channels where id = ${targets.channelId}`,
    },
    {
      label: 'the target silence',
      query: sql`select * from watchtower_alert_silences where id = ${targets.silenceId}`,
    },
    {
      label: 'alert rules, channels and silences made since the run started',
      query: sql`select (select count(*) from watchtower_alert_rules where name like 'fuzz-rule%') as rules,
                        (select count(*) from watchtower_alert_channels where name like 'fuzz-channel%') as channels,
                        (select count(*) from watchtower_alert_silences where reason = 'fuzz') as silences,
                        (select count(*) from watchtower_alert_deliveries where channel_id = ${targets.channelId}) as deliveries`,
    },
  ];
}
