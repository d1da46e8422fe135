import { type SQL, sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../../core/db/database';

/** Small pieces every query file shares. */

/** Runs one statement (one round trip) and returns its rows. */
export async function query<Row>(db: StatementDatabase, statement: SQL): Promise<Row[]> {
  return rowsOf<Row>(await db.execute(statement));
}

/**
 * A timestamptz as the API shows it (ISO 8601, UTC, milliseconds), formatted by Postgres so rows and
 * the JSON that `json_agg` builds look the same whatever the session's time zone.
 */
export function isoText(column: SQL): SQL {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** Full microsecond precision, for pagination keys: a millisecond copy would skip or repeat rows. */
export function isoMicros(column: SQL): SQL {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** bigint and numeric columns arrive as strings from both drivers; counts fit in a double. */
export function num(value: number | string | null | undefined): number {
  return value === null || value === undefined ? 0 : Number(value);
}

export function numOrNull(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
