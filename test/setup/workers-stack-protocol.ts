/** What test/setup/workers-stack.ts prints when ready, read by the workers global setup. */
export const READY_PREFIX = 'WATCHTOWER_STACK_READY ';

export interface StackReady {
  databaseUrl: string;
  relayPort: number;
  upstashUrl: string;
  upstashToken: string;
  /** Base URL of the Cloudflare Access certs stand-in (test/setup/jwks-stand-in.ts). */
  jwksUrl: string;
}
