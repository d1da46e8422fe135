/// <reference types="@cloudflare/vitest-pool-workers/types" />
import type { Env as WatchtowerEnv } from '../../functions/env';

// Types `env` from "cloudflare:workers" / "cloudflare:test" and `exports` as the Worker's own.
declare global {
  namespace Cloudflare {
    interface Env extends WatchtowerEnv {
      /** Tests only: base URL of the Cloudflare Access certs stand-in (test/setup/jwks-stand-in.ts). */
      WATCHTOWER_TEST_JWKS_URL: string;
    }
    interface GlobalProps {
      mainModule: typeof import('../../functions/index');
    }
  }
}
