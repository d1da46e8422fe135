import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanRows, TEXT_CEILING } from '../../worker-host/recorder/clean-rows';
import { capJson, capText, DEFAULT_PAYLOAD_CAP } from '../../worker-host/recorder/job-event';
import type { RowBatch } from '../../worker-host/recorder/record-batch';
import {
  CIRCULAR,
  CUT_TOO_DEEP,
  cleanText,
  cutText,
  jsonbText,
  MAX_PAYLOAD_DEPTH,
  mayNestDeeperThan,
  nestedDeeperThan,
  storableJson,
} from '../../worker-host/recorder/storable';
import { testEnv } from '../setup/test-env';

/** Recorded data is input: what reaches Postgres must be something Postgres takes. */

const client = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 1 });
afterAll(() => client.end());

/** Whether Postgres takes the text as jsonb (and then gives back what it parsed). */
async function asJsonb(text: string): Promise<unknown> {
  const { rows } = await client.query('select $1::jsonb as value', [text]);
  return rows[0].value;
}

function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { d: value };
  return value;
}

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

describe('cleanText', () => {
  it('replaces NUL and lone surrogates, keeps pairs, control characters and the string itself', () => {
    expect(cleanText('a\u0000b')).toBe('a\ufffdb');
    expect(cleanText('\ud800')).toBe('\ufffd');
    expect(cleanText('x\udc00y\ud83d')).toBe('x\ufffdy\ufffd');
    expect(cleanText('a\ud83d\ude00b')).toBe('a\ud83d\ude00b');
    const ordinary = 'send-email \u001b[31m\u0007';
    // The same string back, not a copy: callers tell "changed" by identity.
    expect(cleanText(ordinary)).toBe(ordinary);
  });

  it('cuts text without splitting a surrogate pair', () => {
    expect(cutText('ab\ud83d\ude00', 3)).toBe('ab');
    expect(cutText('ab\ud83d\ude00', 4)).toBe('ab\ud83d\ude00');
    expect(capText('broke\u0000here and more', 9)).toBe('broke\ufffdher');
  });
});

describe('capJson', () => {
  it('leaves ordinary data as JSON.stringify writes it, unflagged', () => {
    const data = {
      to: 'a@example.com',
      items: [1, 2, { deep: [true, null] }],
      note: 'é \ud83d\ude00 \u001b[1m',
    };
    expect(capJson(data)).toEqual({
      text: JSON.stringify(data),
      truncated: false,
      sanitized: false,
      size: Buffer.byteLength(JSON.stringify(data)),
    });
    // A literal backslash-u0000 (six characters) is data, not a NUL: kept and not flagged.
    const literal = { path: 'C:\\u0000\\ud800' };
    expect(capJson(literal)).toMatchObject({ text: JSON.stringify(literal), sanitized: false });
  });

  it('cleans NUL and lone surrogates in values and keys, and flags it', async () => {
    const capped = capJson({ text: 'a\u0000b', lone: '\ud800', 'k\u0000': ['\udfff'] });
    expect(capped.sanitized).toBe(true);
    expect(capped.truncated).toBe(false);
    expect(await asJsonb(capped.text as string)).toEqual({
      text: 'a\ufffdb',
      lone: '\ufffd',
      'k\ufffd': ['\ufffd'],
    });
  });

  it('cuts nesting past the depth cap and flags it as truncated, with the full size', async () => {
    const deep = nested(2_000);
    const capped = capJson(deep);
    expect(capped).toMatchObject({ truncated: true, sanitized: false });
    expect(capped.size).toBe(Buffer.byteLength(JSON.stringify(deep)));
    const stored = await asJsonb(capped.text as string);
    expect(depthOf(stored)).toBe(MAX_PAYLOAD_DEPTH);
    expect(JSON.stringify(stored)).toContain(CUT_TOO_DEEP);
    // Nesting exactly at the cap is kept whole.
    expect(capJson(nested(MAX_PAYLOAD_DEPTH))).toMatchObject({ truncated: false });
  });

  it('records data nested past what JSON.stringify can walk (sent by another language) as cut, not lost', async () => {
    const text = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    const parsed: unknown = JSON.parse(text);
    expect(() => JSON.stringify(parsed)).toThrow();
    const capped = capJson(parsed);
    expect(capped.truncated).toBe(true);
    expect(depthOf(await asJsonb(capped.text as string))).toBe(MAX_PAYLOAD_DEPTH);
  });

  it('keeps a 5 MB payload as a JSON string of its first 16 KB, flagged, with the full size', async () => {
    const data = { text: 'x'.repeat(5 * 1024 * 1024) };
    const capped = capJson(data);
    expect(capped).toMatchObject({ truncated: true, sanitized: false, size: 5 * 1024 * 1024 + 11 });
    const stored = await asJsonb(capped.text as string);
    expect(typeof stored).toBe('string');
    expect(Buffer.byteLength(stored as string)).toBeLessThanOrEqual(DEFAULT_PAYLOAD_CAP);
    // A cut payload full of NULs is storable too: its escapes become plain characters.
    const nuls = capJson({ text: '\u0000'.repeat(20_000) });
    expect(nuls.truncated).toBe(true);
    await asJsonb(nuls.text as string);
  });

  it('records values JSON cannot hold as markers saying what they were', async () => {
    const circular: Record<string, unknown> = { ok: true };
    circular.self = circular;
    const capped = capJson({ big: 10n ** 20n, circular });
    expect(capped.sanitized).toBe(true);
    expect(await asJsonb(capped.text as string)).toEqual({
      big: '[BigInt 100000000000000000000]',
      circular: { ok: true, self: CIRCULAR },
    });
    const hostile = {
      toJSON() {
        throw new Error('no\u0000way');
      },
    };
    const thrown = capJson(hostile);
    expect(thrown.sanitized).toBe(true);
    expect(await asJsonb(thrown.text as string)).toBe('[unserializable: no\ufffdway]');
    // What JSON.stringify writes for a Date, and a shared (not circular) object twice.
    const shared = { n: 1 };
    const when = new Date(0);
    expect(JSON.parse(capJson({ when, a: shared, b: shared, lone: '\ud800' }).text as string)).toEqual({
      when: when.toISOString(),
      a: { n: 1 },
      b: { n: 1 },
      lone: '\ufffd',
    });
  });

  it('keeps ANSI escapes and other control characters exactly: Postgres takes them', async () => {
    const data = { text: '\u001b[31mred\u001b[0m\u0007\u0001\t' };
    const capped = capJson(data);
    expect(capped).toMatchObject({ truncated: false, sanitized: false });
    expect(await asJsonb(capped.text as string)).toEqual(data);
  });
});

describe('the depth test', () => {
  it('walks the value only when its JSON has enough brackets to be that deep', () => {
    expect(mayNestDeeperThan(JSON.stringify(nested(9)), 10)).toBe(false);
    expect(mayNestDeeperThan(JSON.stringify({ text: 'x'.repeat(500) }), 10)).toBe(false);
    expect(mayNestDeeperThan(JSON.stringify(nested(11)), 10)).toBe(true);
  });

  it('counts levels of nesting, not containers side by side', () => {
    expect(nestedDeeperThan(nested(11), 10)).toBe(true);
    expect(nestedDeeperThan(nested(10), 10)).toBe(false);
    expect(nestedDeeperThan({ a: [[[1]]] }, 3)).toBe(true);
    expect(nestedDeeperThan({ a: [[[1]]] }, 4)).toBe(false);
    expect(
      nestedDeeperThan(
        Array.from({ length: 500 }, () => [{}]),
        10,
      ),
    ).toBe(false);
    expect(nestedDeeperThan('[[[[[[[[[[[[', 2)).toBe(false);
  });
});

describe('storableJson (JSON text from elsewhere)', () => {
  it('cleans escaped NUL and lone surrogates, and keeps escaped pairs as the characters they are', async () => {
    expect(storableJson('{"a":"x\\u0000"}')).toEqual({
      text: '{"a":"x\ufffd"}',
      sanitized: true,
      cut: false,
    });
    expect(storableJson('["\\uD800"]')).toEqual({ text: '["\ufffd"]', sanitized: true, cut: false });
    expect(storableJson('"\\ud83d\\ude00"')).toEqual({
      text: '"\ud83d\ude00"',
      sanitized: false,
      cut: false,
    });
    const ordinary = '{"a":1}';
    expect(storableJson(ordinary).text).toBe(ordinary);
    // Not JSON at all, and holding a NUL: kept as a JSON string of its cleaned self.
    const broken = storableJson('{"a":\u0000');
    expect(broken).toMatchObject({ sanitized: true });
    expect(await asJsonb(broken.text)).toBe('{"a":\ufffd');
  });

  it('gives the heartbeat JSON that jsonb takes', async () => {
    const stats = { lastError: 'bad \u0000 value \ud800', polls: 3 };
    expect(await asJsonb(jsonbText(stats))).toEqual({ lastError: 'bad \ufffd value \ufffd', polls: 3 });
    expect(jsonbText({ polls: 3 })).toBe('{"polls":3}');
  });
});

describe('cleanRows (the recorder side)', () => {
  const t = 1_700_000_000_000;

  it('cleans every text field of raw rows, flags the job rows and counts what changed', () => {
    const batch: RowBatch = {
      jobs: [
        {
          connection: 'default',
          queue: 'q',
          jobId: 'id\u0000',
          status: 'failed',
          attempt: 1,
          name: 'n\ud800',
          payload: '{"a":"\\u0000"}',
          exception: 'boom\u0000',
          result: '"\\udc00"',
          workerId: 'w',
        },
        { connection: 'default', queue: 'q', jobId: 'ok', status: 'queued', attempt: 0, payload: '{"a":1}' },
      ],
      attempts: [
        {
          connection: 'default',
          queue: 'q',
          jobId: 'id\u0000',
          attempt: 1,
          status: 'failed',
          startedAt: t,
          errorMessage: 'boom\u0000',
          errorStack: 'Error: boom\u0000\n    at x',
        },
      ],
    };
    expect(cleanRows(batch)).toBe(2);
    expect(batch.jobs[0]).toMatchObject({
      jobId: 'id\ufffd',
      name: 'n\ufffd',
      payload: '{"a":"\ufffd"}',
      exception: 'boom\ufffd',
      result: '"\ufffd"',
      sanitized: true,
    });
    expect(batch.jobs[1]?.sanitized).toBeUndefined();
    expect(batch.attempts[0]).toMatchObject({
      errorMessage: 'boom\ufffd',
      errorStack: 'Error: boom\ufffd\n    at x',
    });
    // Clean rows are left as they are: nothing to count the second time.
    expect(cleanRows(batch)).toBe(0);
  });

  it('cuts text past the ceiling that only a hostile sender reaches, and flags a cut payload', async () => {
    const batch: RowBatch = {
      jobs: [
        {
          connection: 'default',
          queue: 'q',
          jobId: '1',
          status: 'queued',
          attempt: 0,
          name: 'n'.repeat(TEXT_CEILING + 10),
          payload: JSON.stringify({ text: 'y'.repeat(TEXT_CEILING) }),
        },
      ],
      attempts: [],
    };
    expect(cleanRows(batch)).toBe(1);
    const row = batch.jobs[0];
    expect(row?.name).toHaveLength(TEXT_CEILING);
    expect(row).toMatchObject({ payloadTruncated: true, sanitized: true });
    expect(typeof (await asJsonb(row?.payload as string))).toBe('string');
  });
});
