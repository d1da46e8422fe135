import type { Connection, ConnectionKind, ConnectionPatch, CreateConnectionBody } from '../api/config';

/**
 * The connection form's values checked as the API checks them (functions/schemas/connections.ts),
 * so most mistakes show next to their field before anything is sent; the API stays the authority
 * and its refusals show the same way.
 */

const IDENTIFIER = /^[\x21-\x7e]+$/;
const HOST = /^[A-Za-z0-9._:[\]-]+$/;
const URL_SHAPE = /^postgres(ql)?:\/\/[^\s]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
const CONTROL = /[\u0000-\u001f\u007f]/;

type Fields = Record<string, string>;
type Node = { host: string; port: number };

/** The kind's plain values as they stand in the form, each checked; problems keyed by field. */
interface Plain {
  name: string;
  host?: string;
  port?: number;
  db?: number;
  tls?: boolean;
  username?: string;
  keyPrefix?: string;
  nodes?: Node[];
  sentinelName?: string;
}

function text(form: FormData, name: string): string {
  return String(form.get(name) ?? '').trim();
}

function checkIdentifier(value: string, field: string, fields: Fields): void {
  if (value.length === 0) fields[field] = 'must not be empty';
  else if (value.length > 100) fields[field] = 'must be at most 100 characters';
  else if (!IDENTIFIER.test(value)) fields[field] = 'must be printable ASCII without spaces';
}

function checkHost(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 253) return 'must be at most 253 characters';
  return HOST.test(value) ? null : 'must be a host name or an IP address';
}

function wholeNumber(raw: string, min: number, max: number): number | string {
  if (!/^\d+$/.test(raw)) return 'must be a whole number';
  const value = Number(raw);
  return value < min || value > max ? `must be between ${min} and ${max}` : value;
}

/** "host:port" per line (a bare IPv6 address in brackets: "[::1]:6379"). */
export function parseNodes(raw: string, fields: Fields): Node[] {
  const lines = raw
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (lines.length === 0) fields.nodes = 'give at least one host:port';
  if (lines.length > 64) fields.nodes = 'at most 64 nodes';
  const nodes: Node[] = [];
  for (const line of lines) {
    const colon = line.lastIndexOf(':');
    const host = colon > 0 ? line.slice(0, colon) : line;
    const port = colon > 0 ? wholeNumber(line.slice(colon + 1), 1, 65_535) : 'is missing';
    const hostProblem = checkHost(host);
    if (hostProblem || typeof port === 'string') {
      fields.nodes ??= `"${line}": ${hostProblem ? `host ${hostProblem}` : `port ${port}`} (write host:port)`;
      continue;
    }
    nodes.push({ host, port });
  }
  return nodes;
}

export function formatNodes(nodes: readonly Node[] | null): string {
  return (nodes ?? []).map((node) => `${node.host}:${node.port}`).join('\n');
}

function plainOf(kind: ConnectionKind, form: FormData, fields: Fields): Plain {
  const plain: Plain = { name: text(form, 'name') };
  checkIdentifier(plain.name, 'name', fields);
  if (kind === 'postgres') return plain;
  plain.tls = form.get('tls') === 'on';
  const username = String(form.get('username') ?? '');
  if (username.trim()) {
    if (username.length > 256) fields.username = 'must be at most 256 characters';
    else if (CONTROL.test(username)) fields.username = 'must be one line of text';
    plain.username = username;
  }
  const keyPrefix = text(form, 'keyPrefix');
  if (keyPrefix) {
    checkIdentifier(keyPrefix, 'keyPrefix', fields);
    plain.keyPrefix = keyPrefix;
  }
  if (kind === 'redis') {
    plain.host = text(form, 'host');
    const hostProblem = checkHost(plain.host);
    if (hostProblem) fields.host = hostProblem;
    const port = wholeNumber(text(form, 'port') || '6379', 1, 65_535);
    if (typeof port === 'string') fields.port = port;
    else plain.port = port;
  } else {
    plain.nodes = parseNodes(String(form.get('nodes') ?? ''), fields);
  }
  if (kind === 'redis' || kind === 'redis-sentinel') {
    const db = wholeNumber(text(form, 'db') || '0', 0, 65_535);
    if (typeof db === 'string') fields.db = db;
    else plain.db = db;
  }
  if (kind === 'redis-sentinel') {
    plain.sentinelName = text(form, 'sentinelName');
    checkIdentifier(plain.sentinelName, 'sentinelName', fields);
  }
  return plain;
}

function checkSecret(kind: ConnectionKind, secret: string, fields: Fields): void {
  if (kind === 'postgres') {
    if (secret.length > 2048) fields.url = 'must be at most 2048 characters';
    else if (!URL_SHAPE.test(secret)) fields.url = 'must be a postgres:// or postgresql:// URL';
    return;
  }
  if (secret.length > 1024) fields.password = 'must be at most 1024 characters';
  else if (CONTROL.test(secret)) fields.password = 'must be one line of text';
}

export type Checked<T> = { ok: true; body: T } | { ok: false; fields: Fields };

/** A create body of the kind, or what is wrong with the form. */
export function createBodyOf(kind: ConnectionKind, form: FormData): Checked<CreateConnectionBody> {
  const fields: Fields = {};
  const plain = plainOf(kind, form, fields);
  const secret = String(form.get(kind === 'postgres' ? 'url' : 'password') ?? '');
  if (kind === 'postgres' && !secret) fields.url = 'a Postgres connection needs its URL';
  if (secret) checkSecret(kind, secret, fields);
  if (Object.keys(fields).length > 0) return { ok: false, fields };
  const body = (
    kind === 'postgres'
      ? { ...plain, kind, url: secret }
      : { ...plain, kind, ...(secret && { password: secret }) }
  ) as CreateConnectionBody;
  return { ok: true, body };
}

/**
 * Only what changed: an emptied username or key prefix is null (cleared); the password field
 * empty keeps the password, `clearPassword` removes it; the Postgres URL empty keeps it.
 */
export function patchOf(connection: Connection, form: FormData): Checked<ConnectionPatch> {
  const fields: Fields = {};
  const plain = plainOf(connection.kind, form, fields);
  const secret = String(form.get(connection.kind === 'postgres' ? 'url' : 'password') ?? '');
  const clearPassword = form.get('clearPassword') === 'on';
  if (secret && !clearPassword) checkSecret(connection.kind, secret, fields);
  if (Object.keys(fields).length > 0) return { ok: false, fields };
  const patch: Record<string, unknown> = {};
  if (plain.name !== connection.name) patch.name = plain.name;
  if (connection.kind !== 'postgres') {
    if (plain.tls !== connection.tls) patch.tls = plain.tls;
    if ((plain.username ?? null) !== connection.username) patch.username = plain.username ?? null;
    if ((plain.keyPrefix ?? null) !== connection.keyPrefix) patch.keyPrefix = plain.keyPrefix ?? null;
  }
  if (plain.host !== undefined && plain.host !== connection.host) patch.host = plain.host;
  if (plain.port !== undefined && plain.port !== connection.port) patch.port = plain.port;
  if (plain.db !== undefined && plain.db !== connection.db) patch.db = plain.db;
  if (plain.sentinelName !== undefined && plain.sentinelName !== connection.sentinelName)
    patch.sentinelName = plain.sentinelName;
  if (plain.nodes !== undefined && formatNodes(plain.nodes) !== formatNodes(connection.nodes))
    patch.nodes = plain.nodes;
  if (connection.kind === 'postgres') {
    if (secret) patch.url = secret;
  } else if (clearPassword) {
    if (connection.hasPassword) patch.password = null;
  } else if (secret) {
    patch.password = secret;
  }
  return { ok: true, body: patch as ConnectionPatch };
}
