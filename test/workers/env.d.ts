/// <reference types="@cloudflare/vitest-pool-workers/types" />
import type { Env as WatchtowerEnv } from '../../functions/env';

// Types `env` from "cloudflare:workers" / "cloudflare:test" and `exports` as the Worker's own.
declare global {
  namespace Cloudflare {
    interface Env extends WatchtowerEnv {}
    interface GlobalProps {
      mainModule: typeof import('../../functions/index');
    }
  }
}
