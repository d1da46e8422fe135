import { type ConnectionSecretField, connectionSecretContext } from '../../core/crypto/reseal-connections';
import { type KeyRing, sealSecret } from '../../core/crypto/sealed-secrets';
import type { ConnectionNode } from '../../drizzle/schema';
import type { ConnectionRow, ConnectionValues } from '../queries/connections';
import type { ConnectionInput, PlainFields } from '../schemas/connections';

/**
 * From validated input to the columns of watchtower_connections, and what the audit log may say
 * about a change (field names and non-secret values; of a secret only that it was set or cleared).
 */

interface AnyKindFields {
  kind: PlainFields['kind'];
  name: string;
  host?: string | undefined;
  port?: number | undefined;
  db?: number | undefined;
  tls?: boolean | undefined;
  username?: string | undefined;
  keyPrefix?: string | undefined;
  nodes?: ConnectionNode[] | undefined;
  sentinelName?: string | undefined;
}

/** The columns of the non-secret fields; those another kind would use are null. */
export function plainValues(fields: PlainFields): Omit<ConnectionValues, 'passwordSealed' | 'urlSealed'> {
  const any: AnyKindFields = fields;
  return {
    name: any.name,
    kind: any.kind,
    host: any.host ?? null,
    port: any.port ?? null,
    db: any.db ?? null,
    tls: any.tls ?? false,
    username: any.username ?? null,
    keyPrefix: any.keyPrefix ?? null,
    nodes: any.nodes ?? null,
    sentinelName: any.sentinelName ?? null,
  };
}

/** Seals one secret of the connection `id`, bound to that row and field. */
export function sealField(
  ring: KeyRing,
  id: string,
  field: ConnectionSecretField,
  plaintext: string,
): Promise<string> {
  return sealSecret(ring, plaintext, connectionSecretContext(id, field));
}

/** The non-secret fields of a row in the shape a create body has them (for merging a change). */
export function plainFieldsOf(row: ConnectionRow): Record<string, unknown> {
  const set = (key: string, value: unknown) => (value === null ? {} : { [key]: value });
  const common = { tls: row.tls, ...set('username', row.username), ...set('keyPrefix', row.keyPrefix) };
  switch (row.kind) {
    case 'redis':
      return {
        kind: row.kind,
        name: row.name,
        ...set('host', row.host),
        ...set('port', row.port),
        ...set('db', row.db),
        ...common,
      };
    case 'redis-cluster':
      return { kind: row.kind, name: row.name, ...set('nodes', row.nodes), ...common };
    case 'redis-sentinel':
      return {
        kind: row.kind,
        name: row.name,
        ...set('nodes', row.nodes),
        ...set('sentinelName', row.sentinelName),
        ...set('db', row.db),
        ...common,
      };
    case 'postgres':
      return { kind: row.kind, name: row.name };
  }
}

const AUDITED = [
  'name',
  'host',
  'port',
  'db',
  'tls',
  'username',
  'keyPrefix',
  'nodes',
  'sentinelName',
] as const;

/** `{ field: { from, to } }` for each non-secret field that changed. */
export function plainChanges(before: ConnectionRow, after: ConnectionRow): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const key of AUDITED) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      changes[key] = { from: before[key], to: after[key] };
    }
  }
  return changes;
}

/** A row as the audit log describes it: its non-secret fields, and whether each secret is set. */
export function auditedFields(row: ConnectionRow): Record<string, unknown> {
  return { ...plainFieldsOf(row), password: row.passwordSealed !== null, url: row.urlSealed !== null };
}

/** A create body's non-secret fields, and its one secret (a Redis password or a Postgres URL). */
export function splitSecret(body: ConnectionInput): {
  plain: PlainFields;
  field: ConnectionSecretField;
  secret: string | undefined;
} {
  if (body.kind === 'postgres') {
    const { url, ...plain } = body;
    return { plain, field: 'url', secret: url };
  }
  const { password, ...plain } = body;
  return { plain, field: 'password', secret: password };
}
