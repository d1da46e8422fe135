/**
 * The Audit page's filters, kept in the URL under the same names as GET /api/audit's query
 * (?action=users.create&actor=ada@example.com), so a filtered view can be linked, reloaded
 * and gone back to. Only known keys are read; values go to the API as they are, and it validates them.
 */
import type { AuditQuery } from '../api/admin';

export type AuditFilters = AuditQuery;
type ActorKind = NonNullable<AuditQuery['actorKind']>;
type Result = NonNullable<AuditQuery['result']>;

export const ACTOR_KINDS = [
  'session',
  'token',
  'access',
  'bootstrap',
  'anonymous',
] as const satisfies readonly ActorKind[];
export const RESULTS = ['ok', 'error', 'accepted'] as const satisfies readonly Result[];

export const AUDIT_FILTER_KEYS = [
  'actor',
  'actorKind',
  'actorId',
  'action',
  'targetType',
  'targetId',
  'result',
  'from',
  'to',
  'limit',
  'cursor',
] as const;

/** Actions the API writes today, offered as suggestions; any other name can still be typed. */
export const KNOWN_ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.csrf',
  'auth.forbidden',
  'auth.token',
  'users.create',
  'users.update',
  'users.delete',
  'tokens.create',
  'tokens.revoke',
  'failed.retry',
  'failed.delete',
  'failed.retry-all',
  'failed.delete-all',
  'workers.start',
  'workers.stop',
  'workers.pause',
  'workers.resume',
  'workers.restart',
  'supervisors.scale',
  'supervisors.pause',
  'supervisors.continue',
  'supervisors.terminate',
  'hosts.reload',
  'hosts.restart',
  'hosts.terminate',
  'queues.pause',
  'queues.resume',
  'connections.create',
  'connections.update',
  'connections.delete',
  'connections.test',
  'connections.discover',
  'supervisor-configs.create',
  'supervisor-configs.update',
  'supervisor-configs.delete',
  'config.export',
  'config.import',
] as const;

function oneOf<T extends string>(allowed: readonly T[], value: string | undefined): T | undefined {
  return allowed.find((item) => item === value);
}

export function readAuditFilters(query: Record<string, string>): AuditFilters {
  const text = (key: string) => query[key]?.trim() || undefined;
  const filters: AuditFilters = {
    actor: text('actor'),
    actorKind: oneOf(ACTOR_KINDS, text('actorKind')),
    actorId: text('actorId'),
    action: text('action'),
    targetType: text('targetType'),
    targetId: text('targetId'),
    result: oneOf(RESULTS, text('result')),
    from: text('from'),
    to: text('to'),
    limit: text('limit'),
    cursor: text('cursor'),
  };
  // No undefined keys: the client would send them as "undefined".
  for (const key of AUDIT_FILTER_KEYS) if (filters[key] === undefined) delete filters[key];
  return filters;
}

export function auditUrl(filters: AuditFilters): string {
  const params = new URLSearchParams();
  for (const key of AUDIT_FILTER_KEYS) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  const search = params.toString();
  return search ? `/audit?${search}` : '/audit';
}
