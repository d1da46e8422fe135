import type { InferResponseType } from 'hono/client';
import type { api } from './client';

/** GET /api/health/connections: each connection's and each host's health over a range. */
export type ConnectionHealthAnswer = InferResponseType<typeof api.api.health.connections.$get, 200>;
export type ConnectionHealth = ConnectionHealthAnswer['connections'][number];
export type HostHealth = ConnectionHealthAnswer['hosts'][number];
export type HealthRange = ConnectionHealthAnswer['range'];
