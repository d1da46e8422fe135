import type { InferResponseType } from 'hono/client';
import type { api } from './client';

/** The Workers page's answers, typed from the Worker's routes (GET /api/hosts, /supervisors, /workers). */
export type HostList = InferResponseType<(typeof api.api.hosts)['$get'], 200>;
export type Host = HostList['hosts'][number];
export type SupervisorList = InferResponseType<(typeof api.api.supervisors)['$get'], 200>;
export type Supervisor = SupervisorList['supervisors'][number];
export type SupervisorInstance = Supervisor['instances'][number];
export type WorkerList = InferResponseType<(typeof api.api.workers)['$get'], 200>;
export type Worker = WorkerList['workers'][number];
export type PendingRequest = NonNullable<Worker['pending']>;
export type CommandAnswer = InferResponseType<(typeof api.api.commands)[':id']['wait']['$get'], 200>;
export type Command = CommandAnswer['command'];

/** One poll of the three lists, read together so the page's numbers come from the same moment. */
export interface WorkersSnapshot {
  hosts: HostList;
  supervisors: SupervisorList;
  workers: WorkerList;
}
