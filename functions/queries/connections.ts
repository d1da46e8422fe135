import { asc, eq, gt, sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../../core/db/database';
import { connections, connectionTests } from '../../drizzle/schema';
import type { Actor } from '../auth/actor';
import { HttpError } from '../http-error';

/** The statements of /api/connections (functions/routes/connections.ts). */

export type ConnectionRow = typeof connections.$inferSelect;

/** A connection's last `connection.test`, as the host that ran it kept it. */
export type ConnectionTestRow = typeof connectionTests.$inferSelect;

/** A connection with its last test (null: never tested), for the reads of the API. */
export interface ConnectionWithTest {
  connection: ConnectionRow;
  lastTest: ConnectionTestRow | null;
}

/** The columns a create or a change writes (secrets already sealed by the caller). */
export type ConnectionValues = Omit<
  typeof connections.$inferInsert,
  'id' | 'version' | 'createdAt' | 'createdBy' | 'createdByName' | 'updatedAt' | 'updatedBy' | 'updatedByName'
>;

function conflictingName(name: string): HttpError {
  return new HttpError(409, 'conflict', `A connection named ${name} already exists`);
}

/** By name, after `after` (the previous page's last name); one more than asked tells if there is more. */
export async function listConnections(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<ConnectionRow[]> {
  return db
    .select()
    .from(connections)
    .where(options.after === undefined ? undefined : gt(connections.name, options.after))
    .orderBy(asc(connections.name))
    .limit(options.limit);
}

/** listConnections with each connection's last test, in the same statement. */
export async function listConnectionsWithTests(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<ConnectionWithTest[]> {
  return db
    .select({ connection: connections, lastTest: connectionTests })
    .from(connections)
    .leftJoin(connectionTests, eq(connectionTests.connectionId, connections.id))
    .where(options.after === undefined ? undefined : gt(connections.name, options.after))
    .orderBy(asc(connections.name))
    .limit(options.limit);
}

/** One connection with its last test; null for an unknown id. */
export async function getConnectionWithTest(
  db: StatementDatabase,
  id: string,
): Promise<ConnectionWithTest | null> {
  const [row] = await db
    .select({ connection: connections, lastTest: connectionTests })
    .from(connections)
    .leftJoin(connectionTests, eq(connectionTests.connectionId, connections.id))
    .where(eq(connections.id, id));
  return row ?? null;
}

/** The connection's last test; null when it was never tested. */
export async function getLastTest(db: StatementDatabase, id: string): Promise<ConnectionTestRow | null> {
  const [row] = await db.select().from(connectionTests).where(eq(connectionTests.connectionId, id));
  return row ?? null;
}

/** `lock`: `for update`, inside a transaction that changes the row. */
export async function getConnection(
  db: StatementDatabase,
  id: string,
  options: { lock?: boolean } = {},
): Promise<ConnectionRow | null> {
  const query = db.select().from(connections).where(eq(connections.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row ?? null;
}

/** 409 `conflict` when the name is taken. `id` is the caller's: the secrets were sealed bound to it. */
export async function insertConnection(
  db: StatementDatabase,
  id: string,
  values: ConnectionValues,
  actor: Actor,
): Promise<ConnectionRow> {
  const by = `${actor.kind}:${actor.id}`;
  const [row] = await db
    .insert(connections)
    .values({
      ...values,
      id,
      createdBy: by,
      createdByName: actor.name,
      updatedBy: by,
      updatedByName: actor.name,
    })
    .onConflictDoNothing({ target: connections.name })
    .returning();
  if (!row) throw conflictingName(values.name);
  return row;
}

/**
 * Writes the whole row's values and raises its version. Null for an unknown id; 409 when the new
 * name is another connection's (checked first, so the transaction is not aborted by the index).
 */
export async function updateConnection(
  db: StatementDatabase,
  id: string,
  values: ConnectionValues,
  actor: Actor,
): Promise<ConnectionRow | null> {
  const [taken] = await db
    .select({ id: connections.id })
    .from(connections)
    .where(sql`${connections.name} = ${values.name} and ${connections.id} <> ${id}`);
  if (taken) throw conflictingName(values.name);
  const [row] = await db
    .update(connections)
    .set({
      ...values,
      version: sql`${connections.version} + 1`,
      updatedAt: sql`now()`,
      updatedBy: `${actor.kind}:${actor.id}`,
      updatedByName: actor.name,
    })
    .where(eq(connections.id, id))
    .returning();
  return row ?? null;
}

/** Null for an unknown id. */
export async function deleteConnection(db: StatementDatabase, id: string): Promise<ConnectionRow | null> {
  const [row] = await db.delete(connections).where(eq(connections.id, id)).returning();
  return row ?? null;
}

export interface ConnectionUser {
  supervisor: string;
  /** Where it runs: a live host's id; null for a supervisor kept in the database (it runs wherever its labels match). */
  hostId: string | null;
}

/**
 * THE in-use check of a connection, by name: what uses it may not lose it (DELETE answers 409).
 * A connection is used by the supervisors kept in the database that name it
 * (watchtower_supervisor_configs), and by the supervisors the live hosts report in their
 * heartbeats (watchtower_hosts.supervisors, each with its `connection`), from a file or not.
 */
export async function connectionUsers(db: StatementDatabase, name: string): Promise<ConnectionUser[]> {
  const rows = rowsOf<{ supervisor: string; host_id: string | null }>(
    await db.execute(sql`
      (select s.name as supervisor, null::text as host_id
         from watchtower_supervisor_configs s
         join watchtower_connections c on c.id = s.connection_id
        where c.name = ${name}
        order by 1 limit 20)
      union all
      (select s.value->>'name' as supervisor, h.host_id
         from watchtower_hosts h
         cross join lateral jsonb_array_elements(
           case when jsonb_typeof(h.supervisors) = 'array' then h.supervisors else '[]'::jsonb end) s
        where h.status <> 'dead' and h.status <> 'stopped'
          and s.value->>'connection' = ${name} and jsonb_typeof(s.value->'name') = 'string'
        order by 1, 2
        limit 20)`),
  );
  return rows.map((row) => ({ supervisor: row.supervisor, hostId: row.host_id }));
}
