import type { hc, InferRequestType, InferResponseType } from 'hono/client';
// Types only, from the Worker's routes; not through ./client, so the form logic (web/src/lib) that
// uses these types is checked and tested outside the browser too.
import type { AppType } from '../../../functions/index';

type Routes = ReturnType<typeof hc<AppType>>['api'];

/** Connections and database supervisors (GET/POST/PATCH/DELETE), typed from the Worker's routes. */
export type ConnectionList = InferResponseType<Routes['connections']['$get'], 200>;
export type Connection = ConnectionList['connections'][number];
export type ConnectionKind = Connection['kind'];
export type CreateConnectionBody = InferRequestType<Routes['connections']['$post']>['json'];
export type ConnectionPatch = InferRequestType<Routes['connections'][':id']['$patch']>['json'];

export type SupervisorConfigList = InferResponseType<Routes['supervisors']['configs']['$get'], 200>;
export type SupervisorConfig = SupervisorConfigList['configs'][number];
export type CreateSupervisorConfigBody = InferRequestType<Routes['supervisors']['configs']['$post']>['json'];
export type SupervisorConfigPatch = InferRequestType<
  Routes['supervisors']['configs'][':id']['$patch']
>['json'];

export const CONNECTION_KINDS = [
  'redis',
  'redis-cluster',
  'redis-sentinel',
  'postgres',
] as const satisfies readonly ConnectionKind[];

export const KIND_LABELS: Record<ConnectionKind, string> = {
  redis: 'Redis',
  'redis-cluster': 'Redis Cluster',
  'redis-sentinel': 'Redis Sentinel',
  postgres: 'Postgres',
};

/** Where a connection points, in one line: host:port/db, its nodes, or "URL kept" for Postgres. */
export function addressOf(connection: Connection): string {
  if (connection.kind === 'postgres') return connection.hasUrl ? 'URL (kept sealed)' : 'no URL';
  const nodes = (connection.nodes ?? []).map((node) => `${node.host}:${node.port}`).join(', ');
  if (connection.kind === 'redis') return `${connection.host}:${connection.port}/${connection.db ?? 0}`;
  if (connection.kind === 'redis-sentinel') return `${connection.sentinelName} via ${nodes}`;
  return nodes;
}
