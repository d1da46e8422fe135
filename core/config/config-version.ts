import { sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../db/database';
import { CONFIG_CHANNEL } from './supervisor-fields';

/**
 * The version of the whole database configuration (watchtower_config_version's one row). Raised in
 * the transaction of every change to a supervisor configuration or a connection, and announced by
 * NOTIFY on `watchtower_config`, delivered at commit: a listening host reloads at once, the others
 * see the number move at their next check.
 */
export async function bumpConfigVersion(db: StatementDatabase): Promise<number> {
  const rows = rowsOf<{ version: string | number }>(
    await db.execute(sql`
      with bumped as (
        insert into watchtower_config_version (id, version, changed_at) values (1, 1, now())
        on conflict (id) do update
          set version = watchtower_config_version.version + 1, changed_at = now()
        returning version)
      select version, pg_notify(${CONFIG_CHANNEL}, version::text) from bumped`),
  );
  return Number(rows[0]?.version ?? 0);
}

/** The current version: 0 before the first change. One indexed read, what a host checks. */
export async function readConfigVersion(db: StatementDatabase): Promise<number> {
  const rows = rowsOf<{ version: string | number }>(
    await db.execute(sql`select version from watchtower_config_version where id = 1`),
  );
  return Number(rows[0]?.version ?? 0);
}
