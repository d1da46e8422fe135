import { type SQL, sql } from 'drizzle-orm';
import { rowsOf } from '../../../core/db/database';
import type { NeonDb } from '../../../core/db/neon-database';
import { type CallInit, call } from './api';

/**
 * A fuzzer for the API's bad-input contract: for each route it sends broken variants of a valid
 * request (malformed JSON, wrong types, hostile strings, huge bodies, wrong content types, unknown
 * or malformed ids) and checks that every answer is a 4xx in the one error shape, never a 500, and
 * that nothing in the database changed.
 *
 * "Unchanged" in a database other suites write to at the same time is checked three ways, each
 * immune to their writes: the rows the caller names (`watch`) are byte-for-byte the same; no row
 * of the listed tables contains the fuzz marker (every hostile string carries it); and no audit
 * entry came from the run's client address (every request carries a CF-Connecting-IP made up for
 * the run, and every change is audited with its ip) nor, if given, from the run's actor.
 *
 * Usage (see test/workers/bad-input.test.ts):
 *   await fuzzRoutes({ routes: [...], headers: adminHeaders(), db, tables: [...], watch: [...] });
 * The bootstrap admin token costs no database round trip per request, which keeps ~800 cases fast.
 */

export type FuzzMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FuzzRoute {
  /**
   * The operation as the OpenAPI document names it, `METHOD /api/path/{param}`: the test checks
   * that every operation of the document has fuzz cases. Defaults to `METHOD path`.
   */
  operation?: string;
  method: FuzzMethod;
  /** A concrete path that would succeed with `body` and `query` (existing ids filled in). */
  path: string;
  /**
   * A valid JSON body. It is never sent as is: only broken variants of it (and, to paths with
   * unknown ids, as is). Omit for routes without a body.
   */
  body?: Record<string, unknown>;
  /** Body fields where any short single-line string is valid (names, passwords): only NUL, control
   * characters and overlong strings are sent there, since hostile-but-valid text would be stored. */
  freeText?: string[];
  /** Body fields that accept null: null is not sent there as a wrong type. */
  nullable?: string[];
  /** `{}` is a valid body (every field optional, or a command without arguments). */
  emptyBodyValid?: boolean;
  /** The body schema refuses unknown keys (z.strictObject): `__proto__` and friends must be 400. Default true. */
  strictBody?: boolean;
  /** A valid query string: each parameter gets broken values. */
  query?: Record<string, string>;
  /** Query parameters where any text is valid (a search): hostile strings there may answer 2xx. */
  freeTextQuery?: string[];
  /**
   * The path with `{id}` where the id goes (e.g. `/api/users/{id}`): an unknown well-formed id must
   * answer 404, malformed ones any 4xx. `idKind` says what a well-formed id looks like.
   */
  idTemplate?: string;
  idKind?: 'uuid' | 'number' | 'text';
  /** More values per query parameter that must be refused (out of this route's range, bad cursors). */
  badQuery?: Record<string, string[]>;
  /** Whole bodies that must be refused (nested fields the generic cases do not reach). */
  badBodies?: { label: string; body: unknown }[];
}

export interface WatchedRows {
  label: string;
  /** A query whose rows must be identical before and after (order them). */
  query: SQL;
}

export interface FuzzOptions {
  routes: FuzzRoute[];
  /** Credentials for the run (an admin, so that the role check lets every case reach validation). */
  headers: Record<string, string>;
  /** With a token made for the run: its id, so that no audit entry may name it either. */
  actorId?: string;
  db: NeonDb;
  /** Tables in which no row may contain the fuzz marker afterwards. */
  tables: string[];
  watch?: WatchedRows[];
  /** Requests in flight at once. */
  concurrency?: number;
  send?: (path: string, init: CallInit) => Promise<Response>;
}

export interface FuzzReport {
  requests: number;
  /** Cases per route (by `operation`), so a test can check that none has none. */
  casesByOperation: Record<string, number>;
  byStatus: Record<number, number>;
  /** The five slowest cases: a slow answer to a bad input is a denial-of-service waiting to happen. */
  slowest: { label: string; ms: number }[];
}

interface Case {
  /** Set by fuzzRoutes: the route's operation. */
  operation?: string;
  label: string;
  method: FuzzMethod;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Exact status expected; otherwise any 4xx. */
  status?: number;
  /** Hostile-but-valid text in a free-text query parameter: 2xx is fine, 5xx is not. */
  mayPass?: boolean;
}

const HUGE_BYTES = 300 * 1024;

/** Strings nothing should accept: NUL (Postgres text cannot hold it), terminal escapes, absurd lengths. */
function invalidEverywhere(marker: string): string[] {
  return [`nul\u0000${marker}`, `bell\u0007\u001b[31m${marker}`, `${marker}${'x'.repeat(100_000)}`];
}

/** Strings a constrained field (email, role, id, enum, cursor) must refuse; free text may store them. */
function hostile(marker: string): string[] {
  return [
    `'; drop table watchtower_users; -- ${marker}`,
    `" or "1"="1 ${marker}`,
    `<script>alert('${marker}')</script>`,
    `<img src=x onerror=alert(1)>${marker}`,
    `\${7*7}{{7*7}}${marker}`,
    `../../../etc/passwd${marker}`,
    `%00%s%n${marker}`,
    `Z̷̢͓a̴l̵g̶o̷ 🚀👩‍💻 ${marker}`,
    `\u202Egnp.exe${marker}`,
    `\u200B\uFEFF${marker}`,
    `\uD800${marker}`,
    `__proto__${marker}`,
    '',
    '   ',
    'NaN',
    '-1',
    '1e309',
  ];
}

function wrongTypes(sample: unknown, nullable: boolean): unknown[] {
  const all: unknown[] = ['12', 12, true, [], {}, [1, 2], { nested: { deep: true } }];
  const others = all.filter((value) => {
    if (typeof sample === 'string') return typeof value !== 'string';
    if (typeof sample === 'number') return typeof value !== 'number';
    if (typeof sample === 'boolean') return typeof value !== 'boolean';
    if (Array.isArray(sample)) return !Array.isArray(value);
    return Array.isArray(value) || typeof value !== 'object';
  });
  return nullable ? others : [...others, null];
}

function bodyCases(route: FuzzRoute, marker: string): Case[] {
  if (!route.body) return [];
  const base = { method: route.method, path: withQuery(route.path, route.query) };
  const json = { 'content-type': 'application/json' };
  const valid = JSON.stringify(route.body);
  const cases: Case[] = [];
  const malformed = [
    '{',
    '{"a":',
    "{'a': 1}",
    '{"a":1}}',
    '[1,2',
    'nul',
    `${valid.slice(0, -1)},}`,
    '\u0000',
    '',
  ];
  for (const body of malformed) {
    // An empty body is "no body": a required body then fails validation, also a 400.
    cases.push({
      ...base,
      label: `malformed JSON ${JSON.stringify(body.slice(0, 20))}`,
      headers: json,
      body,
      status: 400,
    });
  }
  for (const body of ['null', '[]', '"text"', '123', 'true', `[${valid}]`]) {
    cases.push({
      ...base,
      label: `JSON ${body.slice(0, 20)} instead of an object`,
      headers: json,
      body,
      status: 400,
    });
  }
  const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
  cases.push({ ...base, label: 'deeply nested JSON', headers: json, body: deep, status: 400 });
  if (!route.emptyBodyValid)
    cases.push({ ...base, label: 'empty object', headers: json, body: '{}', status: 400 });
  for (const type of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
  ]) {
    cases.push({
      ...base,
      label: `content-type ${type}`,
      headers: { 'content-type': type },
      body: valid,
      status: 415,
    });
  }
  cases.push({ ...base, label: 'JSON body without a content-type', headers: {}, body: valid, status: 415 });
  const huge = JSON.stringify({ ...route.body, padding: 'x'.repeat(HUGE_BYTES) });
  cases.push({ ...base, label: `a ${HUGE_BYTES >> 10} KiB body`, headers: json, body: huge, status: 413 });
  if (route.strictBody !== false) {
    for (const key of ['__proto__', 'constructor', 'prototype', `unknown_${marker}`]) {
      const body = `${valid.slice(0, -1)}${valid === '{}' ? '' : ','}${JSON.stringify(key)}:{"role":"admin","isAdmin":true}}`;
      cases.push({ ...base, label: `unknown key ${key}`, headers: json, body, status: 400 });
    }
  }
  for (const [field, sample] of Object.entries(route.body)) {
    const send = (label: string, value: unknown) =>
      cases.push({
        ...base,
        label: `${field}: ${label}`,
        headers: json,
        body: JSON.stringify({ ...route.body, [field]: value }),
      });
    for (const value of wrongTypes(sample, route.nullable?.includes(field) ?? false))
      send(`wrong type ${JSON.stringify(value)}`, value);
    // Every number the API takes is a whole, non-negative count with a sane maximum.
    if (typeof sample === 'number') for (const value of [-1, 0.5, 1e15]) send(`number ${value}`, value);
    if (typeof sample !== 'string') continue;
    const strings = route.freeText?.includes(field)
      ? invalidEverywhere(marker)
      : [...invalidEverywhere(marker), ...hostile(marker)];
    for (const value of strings) send(`string ${JSON.stringify(value.slice(0, 40))}`, value);
  }
  for (const bad of route.badBodies ?? []) {
    cases.push({ ...base, label: `body ${bad.label}`, headers: json, body: JSON.stringify(bad.body) });
  }
  return cases;
}

/** Dates Postgres or a date parser may choke on, or read as something the client did not mean. */
export const BAD_DATE_VALUES: readonly string[] = [
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-01-01T24:00:01Z',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '2026-01-01T00:00:00+99:00',
  '2026-01-01',
  'yesterday',
  '1700000000',
];

/** Cursors this API never handed out: valid base64 of the wrong JSON, or of dates Postgres refuses. */
const BAD_CURSORS = [
  btoa('[1,2,3]'),
  btoa('{"a":1}'),
  btoa('null'),
  btoa('["2026-02-30T00:00:00.000000Z",1]'),
  btoa('["0000-01-01T00:00:00Z",1]'),
  btoa('["2026-01-01T00:00:00Z",-1]'),
  btoa('["2026-01-01T00:00:00Z",1e300]'),
  btoa('["a@example.test","not-a-uuid"]'),
  'AAAA',
  '!!!!',
  '=',
];

function queryCases(route: FuzzRoute, marker: string): Case[] {
  if (!route.query) return [];
  const cases: Case[] = [];
  for (const [param, sample] of Object.entries(route.query)) {
    const freeText = route.freeTextQuery?.includes(param) ?? false;
    const send = (label: string, value: string, mayPass = false) =>
      cases.push({
        label: `?${param}=${label}`,
        method: route.method,
        path: withQuery(route.path, { ...route.query, [param]: value }),
        mayPass,
        ...(route.body !== undefined && {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(route.body),
        }),
      });
    // Query strings are shorter than bodies: 5,000 characters is over any parameter's maximum.
    for (const value of [`nul\u0000${marker}`, `bell\u0007${marker}`, `${marker}${'x'.repeat(5_000)}`]) {
      send(JSON.stringify(value.slice(0, 30)), value);
    }
    for (const value of hostile(marker)) {
      if (value === '' && freeText) continue;
      send(JSON.stringify(value.slice(0, 30)), value, freeText);
    }
    if (/^\d+$/.test(sample)) {
      for (const value of ['abc', '1.5', '-5', '1e400', '0x10', 'Infinity', '99999999999999999999'])
        send(value, value);
    }
    if (/^\d{4}-\d\d-\d\dT/.test(sample)) for (const value of BAD_DATE_VALUES) send(value, value);
    if (param === 'cursor') for (const value of BAD_CURSORS) send(`cursor ${value}`, value);
    for (const value of route.badQuery?.[param] ?? []) send(value, value);
  }
  return cases;
}

/**
 * What every route gets, whatever its inputs: a method it does not have (404 or 405), unknown and
 * hostile query parameters (refused, or ignored by a route that takes none: then any 2xx is fine),
 * and, for a route that takes no body, one over the body limit (413 before anything runs).
 */
function anyRouteCases(route: FuzzRoute, marker: string): Case[] {
  const path = withQuery(route.path, route.query);
  const cases: Case[] = [{ label: 'a method it does not have', method: 'PUT', path, body: '{}' }];
  // Only where reading is all a route does: a write that ignores unknown parameters would go ahead.
  if (!route.query && route.method === 'GET') {
    const junk = new URLSearchParams({
      limit: '-1',
      cursor: `\u0000${marker}`,
      wait: 'NaN',
      [`<script>${marker}`]: `'; drop table watchtower_jobs; --`,
    });
    cases.push({
      label: 'unknown query parameters',
      method: route.method,
      path: `${route.path}?${junk.toString()}`,
      mayPass: true,
      ...(route.body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(route.body),
      }),
    });
  }
  if (route.method !== 'GET' && route.body === undefined) {
    cases.push({
      label: `a ${HUGE_BYTES >> 10} KiB body`,
      method: route.method,
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(HUGE_BYTES) }),
      status: 413,
    });
  }
  return cases;
}

function idCases(route: FuzzRoute, marker: string): Case[] {
  if (!route.idTemplate) return [];
  const at = (id: string, raw = false) =>
    withQuery(route.idTemplate!.replace('{id}', raw ? id : encodeSegment(id)), route.query);
  const withBody =
    route.body !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(route.body) }
      : {};
  const wellFormed =
    route.idKind === 'number'
      ? '9007199254740991'
      : route.idKind === 'text'
        ? `unknown-${marker}`
        : crypto.randomUUID();
  const cases: Case[] = [
    {
      label: `unknown id ${wellFormed}`,
      method: route.method,
      path: at(wellFormed),
      status: 404,
      ...withBody,
    },
  ];
  const malformed = [
    '0',
    '-1',
    'abc',
    '00000000-0000-0000-0000-00000000000g',
    ...hostile(marker).filter((value) => value.trim() !== ''),
    `${marker}${'9'.repeat(2_000)}`,
    `nul\u0000${marker}`,
  ];
  for (const id of malformed) {
    cases.push({
      label: `id ${JSON.stringify(id.slice(0, 30))}`,
      method: route.method,
      path: at(id),
      ...withBody,
    });
  }
  // Broken percent-encoding, as a client could send it: a lone %, a cut sequence, a UTF-16 surrogate.
  for (const id of ['%', '%E0%A4%A', '%ED%A0%80', '%C0%AF', '..%2F..%2F']) {
    cases.push({ label: `raw id ${id}`, method: route.method, path: at(id, true), ...withBody });
  }
  return cases;
}

/** encodeURIComponent, except that a lone surrogate (which it refuses) goes out as the bytes of one. */
function encodeSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value
      .split(/([\uD800-\uDFFF])/)
      .map((part) => (/^[\uD800-\uDFFF]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part)))
      .join('');
  }
}

function withQuery(path: string, query: Record<string, string> | undefined): string {
  if (!query || Object.keys(query).length === 0) return path;
  return `${path}?${new URLSearchParams(query).toString()}`;
}

async function snapshot(options: FuzzOptions, marker: string, ip: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const watched of options.watch ?? []) {
    result[`watch ${watched.label}`] = JSON.stringify(rowsOf(await options.db.execute(watched.query)));
  }
  for (const table of options.tables) {
    const rows = rowsOf<{ n: string | number }>(
      await options.db.execute(
        sql`select count(*) as n from ${sql.identifier(table)} t where t::text like ${`%${marker}%`}`,
      ),
    );
    result[`rows of ${table} containing the marker`] = String(rows[0]?.n ?? 0);
  }
  const audit = rowsOf<{ n: string | number }>(
    await options.db.execute(
      sql`select count(*) as n from watchtower_audit_log where ip = ${ip} or actor_id = ${options.actorId ?? ip}`,
    ),
  );
  result['audit entries from the fuzz run'] = String(audit[0]?.n ?? 0);
  return result;
}

/** Runs every case of every route; fails the test with the list of answers that broke the contract. */
export async function fuzzRoutes(options: FuzzOptions): Promise<FuzzReport> {
  const marker = `fz${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  // An address of the documentation range (2001:db8::/32), unique to this run.
  const ip = `2001:db8:${marker.slice(2, 6)}:${marker.slice(6, 10)}::${marker.slice(10, 14)}`;
  const headers = { ...options.headers, 'cf-connecting-ip': ip };
  const send = options.send ?? call;
  const cases = options.routes.flatMap((route) => {
    const operation = route.operation ?? `${route.method} ${route.path}`;
    return [
      ...bodyCases(route, marker),
      ...queryCases(route, marker),
      ...idCases(route, marker),
      ...anyRouteCases(route, marker),
    ].map((c) => ({ ...c, operation }));
  });
  const casesByOperation: Record<string, number> = {};
  for (const c of cases) casesByOperation[c.operation] = (casesByOperation[c.operation] ?? 0) + 1;
  const before = await snapshot(options, marker, ip);
  const failures: string[] = [];
  const byStatus: Record<number, number> = {};
  const timings: { label: string; ms: number }[] = [];
  const concurrency = options.concurrency ?? 8;
  for (let start = 0; start < cases.length; start += concurrency) {
    await Promise.all(
      cases.slice(start, start + concurrency).map(async (c) => {
        const started = Date.now();
        const problem = await runCase(c, headers, send, byStatus);
        timings.push({ label: `${c.method} ${c.path.slice(0, 60)} [${c.label}]`, ms: Date.now() - started });
        if (problem) failures.push(`${c.method} ${c.path.slice(0, 120)} [${c.label}]: ${problem}`);
      }),
    );
  }
  const after = await snapshot(options, marker, ip);
  for (const [key, value] of Object.entries(after)) {
    if (key.startsWith('watch ') ? value !== before[key] : value !== '0') {
      failures.push(
        `database changed: ${key}: before ${before[key]?.slice(0, 300)}, after ${value.slice(0, 300)}`,
      );
    }
  }
  const slowest = [...timings].sort((a, b) => b.ms - a.ms).slice(0, 5);
  if (failures.length > 0) {
    const shown = failures.slice(0, 40).map((failure) => `  - ${failure}`);
    if (failures.length > 40) shown.push(`  ... and ${failures.length - 40} more`);
    throw new Error(
      `${failures.length} of ${cases.length} fuzz cases broke the contract:\n${shown.join('\n')}`,
    );
  }
  return { requests: cases.length, casesByOperation, byStatus, slowest };
}

async function runCase(
  c: Case,
  headers: Record<string, string>,
  send: (path: string, init: CallInit) => Promise<Response>,
  byStatus: Record<number, number>,
): Promise<string | null> {
  let response: Response;
  try {
    response = await send(c.path, {
      method: c.method,
      headers: { ...headers, ...c.headers },
      ...(c.body !== undefined && { body: c.body }),
    });
  } catch (error) {
    return `threw ${error instanceof Error ? error.message : String(error)}`;
  }
  byStatus[response.status] = (byStatus[response.status] ?? 0) + 1;
  const text = await response.text();
  if (c.mayPass && response.status >= 200 && response.status < 300) {
    return text === '' || isJson(text) ? null : `${response.status} with a body that is not JSON`;
  }
  if (c.status !== undefined && response.status !== c.status)
    return `expected ${c.status}, got ${response.status}: ${text.slice(0, 200)}`;
  if (response.status < 400 || response.status >= 500)
    return `expected a 4xx, got ${response.status}: ${text.slice(0, 200)}`;
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json'))
    return `error is not JSON: ${text.slice(0, 200)}`;
  const body: unknown = isJson(text) ? JSON.parse(text) : undefined;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (
    typeof error?.code !== 'string' ||
    typeof error.message !== 'string' ||
    Object.keys(body as object).length !== 1
  ) {
    return `not the error shape: ${text.slice(0, 200)}`;
  }
  return null;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
