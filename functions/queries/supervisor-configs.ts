import { asc, eq, getTableColumns, gt, sql } from 'drizzle-orm';
import type { StatementDatabase } from '../../core/db/database';
import { connections, supervisorConfigs } from '../../drizzle/schema';
import type { Actor } from '../auth/actor';
import { HttpError } from '../http-error';
import type { SupervisorConfigInput, SupervisorConfigView } from '../schemas/supervisor-configs';

/** The statements of /api/supervisors/configs (functions/routes/supervisor-configs.ts). */

// The actor ids stay in the row; a view shows who by name, as connections do.
const {
  connectionId: _id,
  createdBy: _by,
  updatedBy: _updatedBy,
  ...columns
} = getTableColumns(supervisorConfigs);
const VIEW = { ...columns, connection: connections.name };

function conflictingName(name: string): HttpError {
  return new HttpError(409, 'conflict', `A supervisor configuration named ${name} already exists`);
}

function viewQuery(db: StatementDatabase) {
  return db
    .select(VIEW)
    .from(supervisorConfigs)
    .innerJoin(connections, eq(connections.id, supervisorConfigs.connectionId));
}

export async function listSupervisorConfigs(
  db: StatementDatabase,
  options: { after?: string | undefined; limit: number },
): Promise<SupervisorConfigView[]> {
  return viewQuery(db)
    .where(options.after === undefined ? undefined : gt(supervisorConfigs.name, options.after))
    .orderBy(asc(supervisorConfigs.name))
    .limit(options.limit);
}

/** `lock`: `for update` of the configuration's row, inside a transaction that changes it. */
export async function getSupervisorConfig(
  db: StatementDatabase,
  id: string,
  options: { lock?: boolean } = {},
): Promise<SupervisorConfigView | null> {
  const query = viewQuery(db).where(eq(supervisorConfigs.id, id));
  const [row] = options.lock ? await query.for('update', { of: supervisorConfigs }) : await query;
  return row ?? null;
}

/**
 * The connection's id, locked (`for share`) so it cannot be deleted before the write commits;
 * 400 naming it when there is none of that name.
 */
async function connectionIdOf(db: StatementDatabase, name: string): Promise<string> {
  const [row] = await db
    .select({ id: connections.id })
    .from(connections)
    .where(eq(connections.name, name))
    .for('share');
  if (!row) {
    throw new HttpError(400, 'bad_request', `Invalid request body: connection: no connection named ${name}`, [
      { location: 'json', path: ['connection'], code: 'custom', message: `no connection named ${name}` },
    ]);
  }
  return row.id;
}

function settingColumns(input: SupervisorConfigInput, connectionId: string) {
  return {
    name: input.name,
    connectionId,
    queues: input.queues,
    minProcesses: input.minProcesses,
    maxProcesses: input.maxProcesses,
    balance: input.balance,
    concurrency: input.concurrency,
    tries: input.tries,
    timeout: input.timeout,
    memory: input.memory,
    sleep: input.sleep,
    rest: input.rest,
    processors: input.processors,
    labels: input.labels,
  };
}

/** 409 when the name is taken; 400 when the connection does not exist. */
export async function insertSupervisorConfig(
  db: StatementDatabase,
  input: SupervisorConfigInput,
  actor: Actor,
): Promise<SupervisorConfigView> {
  const connectionId = await connectionIdOf(db, input.connection);
  const by = `${actor.kind}:${actor.id}`;
  const [row] = await db
    .insert(supervisorConfigs)
    .values({
      ...settingColumns(input, connectionId),
      id: crypto.randomUUID(),
      createdBy: by,
      createdByName: actor.name,
      updatedBy: by,
      updatedByName: actor.name,
    })
    .onConflictDoNothing({ target: supervisorConfigs.name })
    .returning({ id: supervisorConfigs.id });
  if (!row) throw conflictingName(input.name);
  const view = await getSupervisorConfig(db, row.id);
  if (!view) throw new Error(`supervisor configuration ${row.id} vanished after its insert`);
  return view;
}

/** Writes the whole configuration and raises its version; null for an unknown id. */
export async function updateSupervisorConfig(
  db: StatementDatabase,
  id: string,
  input: SupervisorConfigInput,
  actor: Actor,
): Promise<SupervisorConfigView | null> {
  const [taken] = await db
    .select({ id: supervisorConfigs.id })
    .from(supervisorConfigs)
    .where(sql`${supervisorConfigs.name} = ${input.name} and ${supervisorConfigs.id} <> ${id}`);
  if (taken) throw conflictingName(input.name);
  const connectionId = await connectionIdOf(db, input.connection);
  const [row] = await db
    .update(supervisorConfigs)
    .set({
      ...settingColumns(input, connectionId),
      version: sql`${supervisorConfigs.version} + 1`,
      updatedAt: sql`now()`,
      updatedBy: `${actor.kind}:${actor.id}`,
      updatedByName: actor.name,
    })
    .where(eq(supervisorConfigs.id, id))
    .returning({ id: supervisorConfigs.id });
  return row ? getSupervisorConfig(db, row.id) : null;
}

export async function deleteSupervisorConfig(db: StatementDatabase, id: string): Promise<boolean> {
  const rows = await db
    .delete(supervisorConfigs)
    .where(eq(supervisorConfigs.id, id))
    .returning({ id: supervisorConfigs.id });
  return rows.length > 0;
}
