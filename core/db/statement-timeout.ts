import {
  type HTTPTransactionOptions,
  type NeonQueryFunction,
  NeonQueryPromise,
} from '@neondatabase/serverless';
import { type SQL, sql } from 'drizzle-orm';

/**
 * A `statement_timeout` for the Cloudflare Worker's statements, set with `SET LOCAL` (through
 * `set_config(..., true)`) at the start of the transaction each statement runs in.
 *
 * Why not the other ways to set it:
 * - `?options=-c statement_timeout=5000` in the connection string: Neon's HTTP endpoint reads the
 *   connection string from a header and keeps only its own `neon_*` options; its connections are
 *   pooled and shared by every request of the role, so a setting there would not reach Postgres
 *   (or would reach it on some connections only). The local stand-in, a plain node-postgres pool,
 *   would honour it: a test would pass here and the setting would do nothing in production.
 * - A session `SET statement_timeout`: on a pooled connection (Neon's HTTP proxy, PgBouncer on a
 *   `-pooler` host) it would leak into whatever runs next on that connection.
 * - `ALTER ROLE ... SET statement_timeout`: it would also bound the worker-host when it shares the
 *   role (its batched writes, `watchtower migrate`), and it lives outside the code.
 * `SET LOCAL` ends with its transaction, whatever the pooling, and Postgres applies it from the
 * next statement on, including the time a statement waits for a lock.
 */
export function setLocalStatementTimeout(timeoutMs: number): SQL {
  return sql`select set_config('statement_timeout', ${String(timeoutMs)}, true)`;
}

const SET_LOCAL_TEXT = "select set_config('statement_timeout', $1, true)";

type HttpQueryFunction = NeonQueryFunction<false, false>;
type AnyNeonQuery = NeonQueryPromise<boolean, boolean, unknown>;

/**
 * Neon's HTTP query function with every statement bounded. Each statement drizzle sends goes out as
 * a batch of two in one transaction (`{queries: [set_config, statement]}`), which Neon's endpoint
 * runs as BEGIN; ...; COMMIT on one connection: still one HTTP request, and Postgres parses two tiny
 * extra statements. A batch (`db.batch([...])`) gets the setting as its first statement.
 *
 * drizzle's `neon-http` calls `client.query(text, params, opts)` for a statement and passes the
 * (lazy) query promises it made that way to `client.transaction([...])` for a batch, so the
 * bounded `query` returns a real NeonQueryPromise: awaited alone it runs in its own bounded batch,
 * inside a batch it is the plain statement.
 */
export function withStatementTimeout(client: HttpQueryFunction, timeoutMs: number): HttpQueryFunction {
  const setting = () => client.query(SET_LOCAL_TEXT, [String(timeoutMs)]);
  const bounded = (statement: AnyNeonQuery): AnyNeonQuery =>
    new NeonQueryPromise(
      async () => {
        const results = await client.transaction([setting(), statement as ReturnType<typeof setting>]);
        return results[1];
      },
      statement.queryData,
      statement.opts,
    );
  // drizzle passes an array; the callback form (`sql.transaction((txn) => [...])`) is not needed.
  const transaction = async (queries: unknown, options?: HTTPTransactionOptions<boolean, boolean>) => {
    if (!Array.isArray(queries)) throw new TypeError('transaction() here takes an array of queries');
    const list = queries as ReturnType<typeof setting>[];
    const results = await client.transaction<boolean, boolean>([setting(), ...list], options);
    return results.slice(1);
  };
  return new Proxy(client, {
    // sql`...` as a tagged template.
    apply: (target, thisArg, args) => bounded(Reflect.apply(target, thisArg, args)),
    get: (target, property, receiver) => {
      if (property === 'query') {
        return (...args: Parameters<HttpQueryFunction['query']>) => bounded(target.query(...args));
      }
      if (property === 'transaction') return transaction;
      return Reflect.get(target, property, receiver);
    },
  });
}

/** SQLSTATE 57014 `query_canceled`: what Postgres raises when `statement_timeout` ends a statement. */
const QUERY_CANCELED = '57014';

/**
 * Whether `error` (or what it wraps: drizzle wraps the driver's error in a DrizzleQueryError with
 * it as `cause`) is Postgres cancelling a statement, as the statement timeout does.
 */
export function isStatementCancelled(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    if ((current as { code?: unknown }).code === QUERY_CANCELED) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
