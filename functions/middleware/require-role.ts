import type { MiddlewareHandler } from 'hono';
import { recordRefusal } from '../audit';
import { type Actor, type Role, roleAtLeast } from '../auth/actor';
import type { AppEnv } from '../env';
import { HttpError } from '../http-error';

/**
 * Refuses with 403 `forbidden` unless the actor has at least `role`. Convention: reads need
 * `viewer`; changing workers, queues and jobs needs `operator`; users, tokens, connections and
 * alert rules need `admin`. Put it in a route's `middleware` so it runs before validation:
 * someone without the role learns nothing about what input the route would accept.
 */
export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async function checkRole(c, next) {
    const actor = c.get('actor') as Actor | undefined;
    if (!actor) {
      // Only a route mounted outside `authenticate()` can get here: a wiring mistake, refused safely.
      throw new HttpError(401, 'unauthorized', 'Authentication required');
    }
    if (!roleAtLeast(actor.role, role)) {
      // The actor is known, so each refusal is one row someone authenticated chose to cause.
      await recordRefusal(c, {
        action: 'auth.forbidden',
        targetType: 'route',
        targetId: `${c.req.method} ${c.req.routePath}`,
        details: { reason: 'role too low', needed: role, had: actor.role, path: c.req.path.slice(0, 512) },
      });
      throw new HttpError(403, 'forbidden', `This needs the ${role} role; you have ${actor.role}`);
    }
    await next();
  };
}

/**
 * For `createRoute({ ...withRole('operator'), method, path, ... })`: the role check as the route's
 * middleware (it runs before validation) and `x-required-role` in the OpenAPI document, from one
 * place so they cannot disagree.
 */
export function withRole(role: Role): { middleware: MiddlewareHandler<AppEnv>[]; 'x-required-role': Role } {
  return { middleware: [requireRole(role)], 'x-required-role': role };
}
