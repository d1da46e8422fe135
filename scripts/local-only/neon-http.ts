/**
 * LOCAL DEVELOPMENT TOOLING — never part of the production bundle.
 *
 * An HTTP server that stands in for Neon's `POST /sql` endpoint, so `neon()` from
 * `@neondatabase/serverless` (and drizzle's `neon-http`) reaches a plain local Postgres. Like Neon's
 * proxy, it keeps a node-postgres Pool per connection string, so a query pays no connect.
 * Point the driver at it with `neonConfig.fetchEndpoint = 'http://127.0.0.1:<port>/sql'`.
 *
 * What it speaks (what the driver 1.2.0 sends and reads):
 * - `Neon-Connection-String: postgresql://...` names the database; `Neon-Array-Mode: true` answers
 *   rows as arrays (else as objects); values are always Postgres's text format, as with
 *   `Neon-Raw-Text-Output: true`, which the driver always sends (it parses them itself).
 * - A body `{query, params}` (one statement, extended protocol, autocommit) answers
 *   `{fields, command, rowCount, rows, rowAsArray}`.
 * - A body `{queries: [{query, params}, ...]}` runs them in one transaction (`Neon-Batch-Isolation-Level`,
 *   `Neon-Batch-Read-Only`, `Neon-Batch-Deferrable`) and answers `{results: [...]}`; any error rolls
 *   all of it back.
 * - A Postgres error answers HTTP 400 `{message, code, severity, detail, ...}`, the fields the
 *   driver copies onto its `NeonDbError`.
 * It connects to loopback databases only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import pg from 'pg';
import { listen, messageOf, readBody, sendJson } from './http-support';

export interface NeonHttpOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the stand-in must not be reachable from other machines. */
  host?: string;
}

export interface NeonHttp {
  port: number;
  /** What `neonConfig.fetchEndpoint` takes. */
  endpoint: string;
  close(): Promise<void>;
}

interface QueryInput {
  query: string;
  params: Array<string | null>;
}

interface QueryOutput {
  fields: pg.FieldDef[];
  command: string;
  rowCount: number | null;
  rows: unknown[];
  rowAsArray: boolean;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 5_000;
/** Every value stays the text Postgres sent: the driver parses it by the field's type. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };
const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};
/** The fields of a Postgres error that the driver copies onto its error. */
const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

class BadRequest extends Error {}

export async function startNeonHttp(options: NeonHttpOptions = {}): Promise<NeonHttp> {
  const host = options.host ?? '127.0.0.1';
  const pools = new Map<string, pg.Pool>();
  const poolFor = (connectionString: string): pg.Pool => {
    let pool = pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      // An idle connection that dies (a Postgres restart) is dropped; the next query opens another.
      pool.on('error', () => undefined);
      pools.set(connectionString, pool);
    }
    return pool;
  };

  const server = createServer((req, res) => {
    handle(req, res, poolFor).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: `neon http stand-in: ${messageOf(error)}` });
      else res.destroy();
    });
  });
  await listen(server, options.port ?? 0, host, 'neon http');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('neon http: no TCP address');
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    endpoint: `http://${urlHost}:${address.port}/sql`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(async () => {
        await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  poolFor: (connectionString: string) => pg.Pool,
): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://neon.invalid').pathname;
  if (path !== '/sql') {
    req.resume();
    sendJson(res, 404, { message: `not found: ${path} (the endpoint is POST /sql)` });
    return;
  }
  if (req.method !== 'POST') {
    req.resume();
    sendJson(res, 405, { message: `method ${req.method} not allowed` });
    return;
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  try {
    if (body === 'too-large') throw new BadRequest(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    const connectionString = header(req, 'neon-connection-string');
    if (!connectionString) throw new BadRequest('missing the Neon-Connection-String header');
    checkLoopback(connectionString);
    const arrayMode = header(req, 'neon-array-mode') === 'true';
    const parsed = parseJson(body);
    const pool = poolFor(connectionString);
    if (isRecord(parsed) && Array.isArray(parsed.queries)) {
      const queries = parsed.queries.map(parseQuery);
      const results = await runBatch(pool, queries, arrayMode, beginStatement(req));
      sendJson(res, 200, { results });
    } else {
      const query = parseQuery(parsed);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        sendJson(res, 200, await runQuery(client, query, arrayMode));
      } finally {
        // A statement like BEGIN would leave the kept connection inside a transaction: drop it.
        if (client.getTransactionStatus() !== 'I') broken = new Error('left inside a transaction');
        client.release(broken);
      }
    }
  } catch (error) {
    sendJson(res, 400, errorBody(error));
  }
}

async function runBatch(
  pool: pg.Pool,
  queries: QueryInput[],
  arrayMode: boolean,
  begin: string,
): Promise<QueryOutput[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    try {
      const results: QueryOutput[] = [];
      for (const query of queries) results.push(await runQuery(client, query, arrayMode));
      await client.query('COMMIT');
      return results;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

async function runQuery(client: pg.PoolClient, input: QueryInput, arrayMode: boolean): Promise<QueryOutput> {
  // `extended` even without parameters: one statement per query, as Neon's endpoint allows.
  const config: pg.QueryArrayConfig & { queryMode: 'extended' } = {
    text: input.query,
    values: input.params,
    rowMode: 'array',
    types: RAW_TEXT,
    queryMode: 'extended',
  };
  const result = await client.query(config);
  const rows = arrayMode
    ? result.rows
    : result.rows.map((row) => Object.fromEntries(result.fields.map((field, i) => [field.name, row[i]])));
  return {
    fields: result.fields,
    command: result.command,
    rowCount: result.rowCount,
    rows,
    rowAsArray: arrayMode,
  };
}

function beginStatement(req: IncomingMessage): string {
  const parts = ['BEGIN'];
  const isolation = header(req, 'neon-batch-isolation-level');
  if (isolation) {
    const level = ISOLATION_LEVELS[isolation];
    if (!level) throw new BadRequest(`unknown Neon-Batch-Isolation-Level ${JSON.stringify(isolation)}`);
    parts.push('ISOLATION LEVEL', level);
  }
  const readOnly = header(req, 'neon-batch-read-only');
  if (readOnly) parts.push(readOnly === 'true' ? 'READ ONLY' : 'READ WRITE');
  const deferrable = header(req, 'neon-batch-deferrable');
  if (deferrable) parts.push(deferrable === 'true' ? 'DEFERRABLE' : 'NOT DEFERRABLE');
  return parts.join(' ');
}

function parseQuery(value: unknown): QueryInput {
  if (!isRecord(value) || typeof value.query !== 'string') {
    throw new BadRequest('expected a body {"query": string, "params": [...]} or {"queries": [...]}');
  }
  const params = value.params ?? [];
  if (!Array.isArray(params)) throw new BadRequest('"params" must be an array');
  // The driver sends every parameter as text (or null), already serialised for Postgres.
  return {
    query: value.query,
    params: params.map((param: unknown) => (param === null ? null : String(param))),
  };
}

function checkLoopback(connectionString: string): void {
  let host: string;
  try {
    host = new URL(connectionString).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  } catch {
    throw new BadRequest('Neon-Connection-String is not a valid URL');
  }
  const loopback =
    host === 'localhost' ||
    (isIPv4(host) && host.startsWith('127.')) ||
    (isIPv6(host) && (host === '::1' || /^::ffff:127\./.test(host)));
  if (!loopback) throw new BadRequest(`refusing ${host}: this local-only stand-in connects to loopback only`);
}

function errorBody(error: unknown): Record<string, unknown> {
  const body: Record<string, unknown> = { message: messageOf(error) };
  if (error instanceof pg.DatabaseError) {
    for (const field of ERROR_FIELDS) if (error[field] !== undefined) body[field] = error[field];
  }
  return body;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('the body is not valid JSON');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
