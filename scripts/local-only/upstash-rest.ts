/**
 * LOCAL DEVELOPMENT TOOLING — never part of the production bundle.
 *
 * An HTTP server that speaks Upstash's Redis REST protocol in front of a plain local Redis, so the real
 * `@upstash/redis` client works in development and tests:
 * - `POST /` with a JSON command (`["SET","k","v","EX","10"]`) answers `{"result": ...}`, or
 *   `{"error": "..."}` with HTTP 400;
 * - `POST /pipeline` and `POST /multi-exec` take an array of commands and answer an array of
 *   `{"result"}`/`{"error"}` (the second inside MULTI/EXEC);
 * - `GET|POST /set/key/value?EX=10` (the path form; a POST body is appended as the last argument);
 * - `Authorization: Bearer <token>` (or `?_token=`) is required, else 401;
 * - with `Upstash-Encoding: base64`, which the client sends by default, every string in a result is
 *   base64 (recursively in arrays); integers and null stay as they are; errors are never encoded.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { listen, messageOf, readBody, sendJson } from './http-support';

export interface UpstashRestOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Defaults to redis://127.0.0.1:6379. */
  redisUrl?: string;
  token: string;
}

export interface UpstashRest {
  port: number;
  /** What `new Redis({ url })` from `@upstash/redis` takes. */
  url: string;
  close(): Promise<void>;
}

type Json = string | number | null | Json[];
type Reply = { result: Json } | { error: string };

const MAX_BODY_BYTES = 1024 * 1024;

/** They change the state of the shared connection, so one request would affect every other. */
const REFUSED_COMMANDS = new Set([
  'auth',
  'client',
  'discard',
  'exec',
  'hello',
  'monitor',
  'multi',
  'psubscribe',
  'punsubscribe',
  'quit',
  'reset',
  'select',
  'shutdown',
  'ssubscribe',
  'subscribe',
  'sunsubscribe',
  'unsubscribe',
  'unwatch',
  'watch',
]);

/** They would stall every other request on the shared connection: each gets a connection of its own. */
const BLOCKING_COMMANDS = new Set([
  'blmove',
  'blmpop',
  'blpop',
  'brpop',
  'brpoplpush',
  'bzmpop',
  'bzpopmax',
  'bzpopmin',
  'wait',
  'waitaof',
]);

class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export async function startUpstashRest(options: UpstashRestOptions): Promise<UpstashRest> {
  if (!options.token) throw new Error('upstash rest: a token is required');
  const host = options.host ?? '127.0.0.1';
  const redisUrl = options.redisUrl ?? 'redis://127.0.0.1:6379';
  // RESP2 keeps replies in the shapes Upstash returns (flat arrays for HGETALL, doubles as strings).
  const redis = new Redis(redisUrl, {
    protocol: 2,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectionName: 'watchtower-upstash-rest',
  });
  // Connection failures reach each request as an error reply; the event would otherwise be logged.
  let connectError: unknown;
  redis.on('error', (error: unknown) => {
    connectError ??= error;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    // connect() only says "Connection is closed"; the 'error' event has the cause (ECONNREFUSED...).
    const cause = messageOf(connectError ?? error);
    throw new Error(`upstash rest: cannot reach Redis at ${redisUrl} (${cause}); is redis-server running?`);
  }

  const executor = new CommandExecutor(redis);
  const server = createServer((req, res) => {
    handleRequest(req, res, executor, options.token).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: `ERR ${messageOf(error)}` });
      else res.destroy();
    });
  });
  try {
    await listen(server, options.port ?? 0, host, 'upstash rest');
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('upstash rest: no TCP address');
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The client keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }).then(() => executor.close());
      return closing;
    },
  };
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  executor: CommandExecutor,
  token: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://upstash.invalid');
  if (!isAuthorized(req, url, token)) {
    req.resume();
    sendJson(res, 401, { error: 'Unauthorized' });
    return;
  }
  if (req.method !== 'POST' && req.method !== 'GET') {
    req.resume();
    sendJson(res, 405, { error: `ERR method ${req.method} not allowed` });
    return;
  }
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === 'too-large') {
    sendJson(res, 413, { error: `ERR request body exceeds ${MAX_BODY_BYTES} bytes` });
    return;
  }
  const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
  const path = url.pathname.replace(/\/+$/, '');

  try {
    if (path === '/pipeline' || path === '/multi-exec') {
      const commands = parseCommandList(body);
      const replies =
        path === '/pipeline'
          ? await executor.pipeline(commands, base64)
          : await executor.multiExec(commands, base64);
      sendJson(res, 200, replies);
      return;
    }
    const command = path === '' ? parseCommand(parseJson(body)) : commandFromPath(url, body);
    const reply = await executor.single(command, base64);
    sendJson(res, 'error' in reply ? 400 : 200, reply);
  } catch (error) {
    if (error instanceof BadRequest) sendJson(res, error.status, { error: error.message });
    else throw error;
  }
}

/** Runs commands on one shared connection; replies come back raw (Buffers) so binary values survive. */
class CommandExecutor {
  private readonly blockingConnections = new Set<Redis>();

  constructor(private readonly redis: Redis) {}

  async single(command: string[], base64: boolean): Promise<Reply> {
    try {
      return { result: toJson(await this.send(command), base64) };
    } catch (error) {
      if (isCommandError(error)) return { error: errorText(error) };
      throw new BadRequest(errorText(error), 503);
    }
  }

  /** Not atomic, like Upstash's: ioredis writes the commands in order on the one connection. */
  async pipeline(commands: string[][], base64: boolean): Promise<Reply[]> {
    const settled = await Promise.allSettled(commands.map((command) => this.send(command)));
    return settled.map((outcome) =>
      outcome.status === 'fulfilled'
        ? { result: toJson(outcome.value, base64) }
        : { error: errorText(outcome.reason) },
    );
  }

  async multiExec(commands: string[][], base64: boolean): Promise<Reply[]> {
    for (const [name] of commands) refuseStatefulCommand(name!);
    // ioredis buffers MULTI, the commands and EXEC and writes them together, so requests sharing the
    // connection cannot interleave with the transaction.
    const transaction = this.redis.multi();
    for (const [name, ...args] of commands) transaction.callBuffer(name!, ...args);
    let results: [Error | null, unknown][] | null;
    try {
      results = await transaction.exec();
    } catch (error) {
      if (!isCommandError(error)) throw new BadRequest(errorText(error), 503);
      // EXECABORT hides the cause (a command that failed to queue) in previousErrors.
      const cause = (error as { previousErrors?: unknown[] }).previousErrors?.[0];
      throw new BadRequest(
        cause === undefined ? errorText(error) : `${errorText(error)} ${errorText(cause)}`,
      );
    }
    if (results === null) throw new BadRequest('ERR transaction aborted');
    return results.map(([error, value]) =>
      error ? { error: errorText(error) } : { result: toJson(value, base64) },
    );
  }

  /** Not async: the command must be written before the caller sends the next one, to keep the order. */
  private send(command: string[]): Promise<unknown> {
    const [name, ...args] = command;
    try {
      refuseStatefulCommand(name!);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isBlocking(name!, args)) return this.redis.callBuffer(name!, ...args);
    const connection = this.redis.duplicate();
    connection.on('error', () => {});
    this.blockingConnections.add(connection);
    return connection.callBuffer(name!, ...args).finally(() => {
      this.blockingConnections.delete(connection);
      connection.disconnect();
    });
  }

  async close(): Promise<void> {
    for (const connection of this.blockingConnections) connection.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function refuseStatefulCommand(name: string): void {
  if (REFUSED_COMMANDS.has(name.toLowerCase())) {
    throw new BadRequest(`ERR command ${name.toUpperCase()} is not supported by the local Upstash stand-in`);
  }
}

function isBlocking(name: string, args: string[]): boolean {
  const lower = name.toLowerCase();
  if (BLOCKING_COMMANDS.has(lower)) return true;
  return (lower === 'xread' || lower === 'xreadgroup') && args.some((arg) => arg.toLowerCase() === 'block');
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('ERR failed to parse command: the body is not valid JSON');
  }
}

function parseCommandList(body: Buffer): string[][] {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new BadRequest('ERR failed to parse pipeline request: expected a non-empty array of commands');
  }
  return parsed.map(parseCommand);
}

/** The client serialises every argument to a string, number or boolean (objects arrive as JSON text). */
function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest('ERR failed to parse command: expected a non-empty JSON array');
  }
  return value.map((item: unknown) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw new BadRequest(`ERR failed to parse command: unsupported argument ${JSON.stringify(item)}`);
  });
}

/** `/set/key/value?EX=10`, a POST body being the last argument before the query's. */
function commandFromPath(url: URL, body: Buffer): string[] {
  const command = url.pathname
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => decodeURIComponent(segment));
  if (body.length > 0) command.push(body.toString('utf8'));
  for (const [key, value] of url.searchParams) {
    if (key === '_token') continue;
    command.push(key);
    if (value !== '') command.push(value);
  }
  if (command.length === 0) throw new BadRequest('ERR empty command');
  return command;
}

function isAuthorized(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization;
  const given = header?.startsWith('Bearer ')
    ? header.slice('Bearer '.length)
    : url.searchParams.get('_token');
  if (given === null || given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A raw reply as JSON: bulk strings arrive as Buffers, so binary values survive base64 byte for byte;
 * integers and null stay as they are, nested arrays stay arrays.
 */
function toJson(value: unknown, base64: boolean): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') return base64 ? Buffer.from(value).toString('base64') : value;
  if (Array.isArray(value)) return value.map((item) => toJson(item, base64));
  // An error inside an array (a Lua table holding redis.error_reply) is kept as its text.
  if (value instanceof Error) return toJson(value.message, base64);
  if (typeof value === 'bigint') {
    return Number.isSafeInteger(Number(value)) ? Number(value) : toJson(value.toString(), base64);
  }
  // ioredis may turn a map-like reply into an object: flatten it back, as Redis sends it.
  if (typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => [toJson(key, base64), toJson(item, base64)]);
  }
  return toJson(String(value), base64);
}

function isCommandError(error: unknown): boolean {
  return error instanceof BadRequest || (error instanceof Error && error.name === 'ReplyError');
}

function errorText(error: unknown): string {
  if (isCommandError(error)) return messageOf(error);
  return `ERR Redis is unavailable: ${messageOf(error)}`;
}
