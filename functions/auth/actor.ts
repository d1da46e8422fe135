/**
 * Who is making a request, as the authentication middleware decided. Routes read it with
 * `c.get('actor')`; the audit log records it.
 */

/** Ordered from least to most powerful: each role can do everything the ones before it can. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type ActorKind = 'token' | 'session' | 'access' | 'bootstrap';

export interface Actor {
  /** How the request authenticated: an API token, a browser session, Cloudflare Access, the bootstrap secret. */
  kind: ActorKind;
  /**
   * Stable id: the token's id, the user's id, `access:<sub>` for an Access identity without a user,
   * `access-service:<common name>` for an Access service token, `bootstrap`.
   */
  id: string;
  /** For people reading the audit log: the token's name, the user's email. */
  name: string;
  role: Role;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `role` grants at least what `needed` grants. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
