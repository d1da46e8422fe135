import { describe, expect, it } from 'vitest';
import {
  processorPathProblem as coreProcessorPathProblem,
  LABEL_PATTERN,
  supervisorFields,
} from '../../core/config/supervisor-fields';
import type { Connection } from '../../web/src/api/config';
import { createBodyOf, parseNodes, patchOf } from '../../web/src/lib/connection-form';
import {
  configBodyOf,
  formValuesOf,
  NUMBER_FIELDS,
  type NumberField,
  processorPathProblem,
  LABEL_PATTERN as WEB_LABEL_PATTERN,
} from '../../web/src/lib/supervisor-form';

/**
 * The dashboard's connection and supervisor forms check what the API checks, with the same bounds
 * (core/config/supervisor-fields.ts): a value one accepts the other accepts too, so the form never
 * refuses what the API would take, nor lets through what it would refuse.
 */

function form(entries: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(entries)) data.set(name, value);
  return data;
}

function supervisorWith(field: NumberField, value: string) {
  const values = formValuesOf(null, 'main');
  values.name = 'emails';
  values.queues = [{ name: 'emails', processor: 'emails.mjs' }];
  // The floor of maxProcesses follows minProcesses: keep it out of the way of the bound tested.
  values.numbers = { ...values.numbers, minProcesses: '0', [field]: value };
  return configBodyOf(values);
}

describe('the supervisor form', () => {
  it('accepts each number at its bounds and refuses it just past them, as the API does', () => {
    for (const field of Object.keys(NUMBER_FIELDS) as NumberField[]) {
      const { min, max, whole } = NUMBER_FIELDS[field];
      const schema = supervisorFields[field];
      const step = whole ? 1 : 0.5;
      for (const [value, ok] of [
        [min, true],
        [max, true],
        [min - step, false],
        [max + step, false],
      ] as const) {
        expect({ field, value, ok: schema.safeParse(value).success }).toEqual({ field, value, ok });
        expect({ field, value, ok: supervisorWith(field, String(value)).ok }).toEqual({ field, value, ok });
      }
      if (whole) expect(supervisorWith(field, String(min + 0.5)).ok).toBe(false);
    }
  });

  it('refuses what the API refuses in processor paths, labels, queues and the process floor', () => {
    for (const path of [
      'emails.mjs',
      'a/b.mjs',
      '/etc/x.mjs',
      '../x.mjs',
      'a/../../x',
      'C:x',
      '~/x',
      'a\\b',
      '',
    ]) {
      expect({ path, problem: processorPathProblem(path) === null }).toEqual({
        path,
        problem: coreProcessorPathProblem(path) === null,
      });
    }
    expect(WEB_LABEL_PATTERN.source).toBe(LABEL_PATTERN.source);

    const values = formValuesOf(null, 'main');
    values.name = 'emails';
    values.queues = [
      { name: 'a', processor: '' },
      { name: 'a', processor: 'x.mjs' },
    ];
    values.numbers = { ...values.numbers, minProcesses: '2', maxProcesses: '3' };
    values.labels = 'web, -bad';
    const checked = configBodyOf(values);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(Object.keys(checked.fields).sort()).toEqual(
      ['labels', 'maxProcesses', 'processors.0', 'queues.1'].sort(),
    );
  });

  it('sends the whole configuration, with the default module under "*"', () => {
    const values = formValuesOf(null, 'main');
    values.name = 'emails';
    values.queues = [
      { name: 'emails', processor: 'emails.mjs' },
      { name: 'reports', processor: '' },
    ];
    values.defaultProcessor = 'default.mjs';
    values.labels = 'eu, web, eu';
    expect(configBodyOf(values)).toEqual({
      ok: true,
      body: {
        name: 'emails',
        connection: 'main',
        queues: ['emails', 'reports'],
        minProcesses: 1,
        concurrency: 1,
        tries: 1,
        timeout: 60,
        memory: 512,
        sleep: 3,
        rest: 0,
        balance: 'simple',
        processors: { emails: 'emails.mjs', '*': 'default.mjs' },
        labels: ['eu', 'web'],
      },
    });
  });
});

const stored: Connection = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'main',
  kind: 'redis',
  host: 'redis.internal',
  port: 6379,
  db: 0,
  tls: false,
  username: 'app',
  keyPrefix: null,
  nodes: null,
  sentinelName: null,
  hasPassword: true,
  hasUrl: false,
  version: 3,
  createdAt: '2026-01-01T00:00:00.000Z',
  createdBy: 'admin',
  updatedAt: '2026-01-01T00:00:00.000Z',
  updatedBy: 'admin',
  lastTest: null,
};

describe('the connection form', () => {
  it('reads nodes as host:port lines and names the line that is wrong', () => {
    const fields: Record<string, string> = {};
    expect(parseNodes('10.0.0.1:26379\n\n [::1]:6380 ', fields)).toEqual([
      { host: '10.0.0.1', port: 26379 },
      { host: '[::1]', port: 6380 },
    ]);
    expect(fields).toEqual({});
    parseNodes('good:1\nbad host:2', fields);
    expect(fields.nodes).toContain('"bad host:2"');
    const noPort: Record<string, string> = {};
    parseNodes('redis.internal', noPort);
    expect(noPort.nodes).toContain('port is missing');
  });

  it('creates with the password only when one is typed, and a Postgres connection only with its URL', () => {
    expect(createBodyOf('redis', form({ name: 'main', host: 'r', port: '6380', db: '2' }))).toEqual({
      ok: true,
      body: { kind: 'redis', name: 'main', host: 'r', port: 6380, db: 2, tls: false },
    });
    expect(createBodyOf('postgres', form({ name: 'pg' }))).toMatchObject({
      ok: false,
      fields: { url: expect.any(String) },
    });
    expect(createBodyOf('redis', form({ name: 'has space', host: 'r', port: '70000' }))).toMatchObject({
      ok: false,
      fields: { name: expect.any(String), port: 'must be between 1 and 65535' },
    });
  });

  it('changes only what changed: an empty password keeps it, clearing sends null, an emptied username clears it', () => {
    const same = { name: 'main', host: 'redis.internal', port: '6379', db: '0', username: 'app' };
    expect(patchOf(stored, form(same))).toEqual({ ok: true, body: {} });
    expect(patchOf(stored, form({ ...same, password: 'new-secret' }))).toEqual({
      ok: true,
      body: { password: 'new-secret' },
    });
    expect(patchOf(stored, form({ ...same, password: 'ignored', clearPassword: 'on' }))).toEqual({
      ok: true,
      body: { password: null },
    });
    expect(patchOf(stored, form({ ...same, username: '', tls: 'on', keyPrefix: 'jobs' }))).toEqual({
      ok: true,
      body: { username: null, tls: true, keyPrefix: 'jobs' },
    });
  });
});
