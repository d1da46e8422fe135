import type { KeyRing } from '../../core/crypto/sealed-secrets';
import type { StatementDatabase } from '../../core/db/database';
import type { Actor } from '../auth/actor';
import { plainValues, sealField } from '../connections/connection-values';
import { HttpError } from '../http-error';
import {
  type ConnectionRow,
  type ConnectionUser,
  type ConnectionValues,
  connectionUsers,
  deleteConnection,
  insertConnection,
  updateConnection,
} from '../queries/connections';
import {
  deleteSupervisorConfig,
  insertSupervisorConfig,
  updateSupervisorConfig,
} from '../queries/supervisor-configs';
import { type SupervisorConfigView, settingsOf } from '../schemas/supervisor-configs';
import type { NamesByKind } from './document';
import { openStored } from './secrets';
import type { ImportPlan, PlannedConnection } from './validate';

/**
 * Carries out a checked import plan inside the caller's transaction, with the rows as they were
 * read under its lock. A row is written only when the document says something else than the
 * database (so its `version` moves only then); with `prune`, what the document does not hold is
 * deleted, supervisors first, and a connection that something staying still uses is a 409 that
 * rolls the whole import back.
 */

export interface ImportOutcome {
  created: NamesByKind;
  updated: NamesByKind;
  unchanged: NamesByKind;
  deleted: NamesByKind;
}

export interface CurrentConfiguration {
  connections: ConnectionRow[];
  supervisors: SupervisorConfigView[];
}

/** JSON with object keys sorted: jsonb keeps keys in its own order, a document in the author's. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

function names(): NamesByKind {
  return { connections: [], supervisors: [] };
}

type Kind = keyof NamesByKind;

async function applyConnection(
  tx: StatementDatabase,
  entry: PlannedConnection,
  before: ConnectionRow | undefined,
  ring: KeyRing | null,
  actor: Actor,
): Promise<'created' | 'updated' | 'unchanged'> {
  const values = plainValues(entry.plain);
  const sealed = { passwordSealed: before?.passwordSealed ?? null, urlSealed: before?.urlSealed ?? null };
  // The document's secret sealed bound to the row; without one, the connection keeps its own.
  const columns = async (id: string): Promise<ConnectionValues> => {
    if (entry.secret === undefined || !ring) return { ...values, ...sealed };
    const value = await sealField(ring, id, entry.field, entry.secret);
    return { ...values, ...sealed, [entry.field === 'password' ? 'passwordSealed' : 'urlSealed']: value };
  };
  if (!before) {
    // Chosen here: the secret is sealed bound to the row's id, before the row exists.
    const id = crypto.randomUUID();
    await insertConnection(tx, id, await columns(id), actor);
    return 'created';
  }
  const samePlain = (Object.keys(values) as (keyof typeof values)[]).every(
    (key) => canonical(values[key]) === canonical(before[key]),
  );
  // Compared in clear: every seal differs (a new iv), the same secret must not count as a change.
  const sameSecret =
    entry.secret === undefined || (ring !== null && (await openStored(ring, before)) === entry.secret);
  if (samePlain && sameSecret) return 'unchanged';
  const next = sameSecret ? { ...values, ...sealed } : await columns(before.id);
  await updateConnection(tx, before.id, next, actor);
  return 'updated';
}

function conflict(users: { connection: string; supervisors: ConnectionUser[] }[]): HttpError {
  const named = users
    .map(
      ({ connection, supervisors }) =>
        `${connection} (used by ${supervisors
          .map((user) => (user.hostId === null ? user.supervisor : `${user.supervisor} on ${user.hostId}`))
          .join(', ')})`,
    )
    .join('; ');
  return new HttpError(
    409,
    'conflict',
    `Pruning would delete connections still in use, nothing was changed: ${named}. Keep them in the document, or move those supervisors off them first`,
    { connections: users },
  );
}

export async function applyImport(
  tx: StatementDatabase,
  plan: ImportPlan,
  current: CurrentConfiguration,
  options: { prune: boolean; actor: Actor },
): Promise<ImportOutcome> {
  const outcome: ImportOutcome = {
    created: names(),
    updated: names(),
    unchanged: names(),
    deleted: names(),
  };
  const record = (result: keyof ImportOutcome, kind: Kind, name: string) => outcome[result][kind].push(name);
  const connections = new Map(current.connections.map((row) => [row.name, row]));
  const supervisors = new Map(current.supervisors.map((row) => [row.name, row]));

  // Connections first: the supervisors name them.
  for (const entry of plan.connections) {
    const result = await applyConnection(
      tx,
      entry,
      connections.get(entry.plain.name),
      plan.ring,
      options.actor,
    );
    record(result, 'connections', entry.plain.name);
  }
  for (const input of plan.supervisors) {
    const before = supervisors.get(input.name);
    if (!before) {
      await insertSupervisorConfig(tx, input, options.actor);
      record('created', 'supervisors', input.name);
    } else if (canonical(settingsOf(before)) === canonical(input)) {
      record('unchanged', 'supervisors', input.name);
    } else {
      await updateSupervisorConfig(tx, before.id, input, options.actor);
      record('updated', 'supervisors', input.name);
    }
  }
  if (!options.prune) return outcome;

  const keptSupervisors = new Set(plan.supervisors.map((input) => input.name));
  for (const row of current.supervisors) {
    if (keptSupervisors.has(row.name)) continue;
    await deleteSupervisorConfig(tx, row.id);
    record('deleted', 'supervisors', row.name);
  }
  // After the supervisors: what still uses a connection now is what stays (in the document, or
  // reported by a live host from its own file), the same in-use check as DELETE /api/connections.
  const keptConnections = new Set(plan.connections.map((entry) => entry.plain.name));
  const inUse: { connection: string; supervisors: ConnectionUser[] }[] = [];
  for (const row of current.connections) {
    if (keptConnections.has(row.name)) continue;
    const users = await connectionUsers(tx, row.name);
    if (users.length > 0) {
      inUse.push({ connection: row.name, supervisors: users });
      continue;
    }
    await deleteConnection(tx, row.id);
    record('deleted', 'connections', row.name);
  }
  if (inUse.length > 0) throw conflict(inUse);
  return outcome;
}
