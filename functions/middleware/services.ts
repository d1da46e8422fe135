import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { Services } from '../services';

/** Gives each request its own Services and closes them after the response, via waitUntil. */
export function services(): MiddlewareHandler<AppEnv> {
  return async function requestServices(c, next) {
    const opened = new Services(c.env);
    c.set('services', opened);
    try {
      await next();
    } finally {
      const closing = opened.close();
      // `executionCtx` throws outside a Worker (app.request in unit tests): close inline there.
      let ctx: Pick<ExecutionContext, 'waitUntil'> | undefined;
      try {
        ctx = c.executionCtx;
      } catch {
        ctx = undefined;
      }
      if (ctx) ctx.waitUntil(closing);
      else await closing;
    }
  };
}
