import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../../core/db/database';
import type { NeonDatabaseHandle } from '../../../core/db/neon-database';
import { adminHeaders, type CallInit, call } from './api';

/**
 * A private copy of the configuration tables for the import and export tests. An export holds
 * every connection of the database and an import with `prune` deletes what its document does not
 * hold: against the database other suites write to at the same time, that would read and delete
 * their rows. So these tests point the Worker (DATABASE_URL's `options=-c search_path=...`) at a
 * schema of their own holding empty copies of the tables the routes touch.
 */

const TABLES = [
  'watchtower_connections',
  'watchtower_supervisor_configs',
  'watchtower_config_version',
  'watchtower_audit_log',
  'watchtower_hosts',
];

export interface PrivateConfig {
  schema: string;
  /** One request to the Worker against the private schema, as the bootstrap admin unless told. */
  call(path: string, init?: CallInit): Promise<Response>;
  /** Every row of one of the tables, by the query's order. */
  rows<T>(query: string): Promise<T[]>;
  configVersion(): Promise<number>;
  /** Empties the connections and supervisors (what a restore starts from). */
  wipe(): Promise<void>;
  drop(): Promise<void>;
}

export async function privateConfig(database: NeonDatabaseHandle, label: string): Promise<PrivateConfig> {
  const schema = `wt_${label}_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await database.db.execute(sql.raw(`create schema ${schema}`));
  for (const table of TABLES) {
    await database.db.execute(
      sql.raw(`create table ${schema}.${table} (like public.${table} including all)`),
    );
  }
  // `like` copies no foreign key: the one the in-use checks rely on is added back.
  await database.db.execute(
    sql.raw(
      `alter table ${schema}.watchtower_supervisor_configs add foreign key (connection_id) references ${schema}.watchtower_connections (id) on delete restrict`,
    ),
  );
  const url = new URL(env.DATABASE_URL ?? '');
  url.searchParams.set('options', `-c search_path=${schema}`);
  const databaseUrl = url.toString();
  const rows = async <T>(query: string): Promise<T[]> =>
    rowsOf<T>(await database.db.execute(sql.raw(query.replaceAll('{schema}', schema))));
  return {
    schema,
    call: (path, init = {}) =>
      call(path, {
        ...init,
        headers: init.headers ?? adminHeaders(),
        env: { ...init.env, DATABASE_URL: databaseUrl },
      }),
    rows,
    configVersion: async () =>
      Number(
        (await rows<{ version: number }>('select version from {schema}.watchtower_config_version'))[0]
          ?.version ?? 0,
      ),
    wipe: async () => {
      await database.db.execute(sql.raw(`delete from ${schema}.watchtower_supervisor_configs`));
      await database.db.execute(sql.raw(`delete from ${schema}.watchtower_connections`));
    },
    drop: async () => {
      await database.db.execute(sql.raw(`drop schema if exists ${schema} cascade`));
    },
  };
}
