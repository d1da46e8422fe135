/** What test/setup/workers-stack.ts prints when ready, read by the workers global setup. */
export const READY_PREFIX = 'WATCHTOWER_STACK_READY ';

export interface StackReady {
  databaseUrl: string;
  relayPort: number;
  /** "127.0.0.1:<port>" of the stand-in for Neon's `POST /sql` (WATCHTOWER_LOCAL_NEON_HTTP). */
  neonHttp: string;
  upstashUrl: string;
  upstashToken: string;
  /** Base URL of the Cloudflare Access certs stand-in (test/setup/jwks-stand-in.ts). */
  jwksUrl: string;
}
