/**
 * LOCAL DEVELOPMENT TOOLING — never part of the production bundle.
 *
 * Starts the local stand-ins for Neon's WebSocket proxy, Neon's HTTP endpoint and Upstash's REST API
 * together, for the test set-ups.
 */
import { type NeonHttp, startNeonHttp } from '../../scripts/local-only/neon-http';
import { type NeonRelay, startNeonRelay } from '../../scripts/local-only/neon-relay';
import { startUpstashRest, type UpstashRest } from '../../scripts/local-only/upstash-rest';

export interface LocalStackOptions {
  relayPort: number;
  upstashPort: number;
  upstashToken: string;
  redisUrl: string;
  /** The stand-in for Neon's `POST /sql`; 0 (the default) picks a free port. */
  neonHttpPort?: number;
}

export interface LocalStack {
  relayPort: number;
  upstashUrl: string;
  /** What WATCHTOWER_LOCAL_NEON_HTTP takes: "127.0.0.1:<port>" of the stand-in for Neon's `POST /sql`. */
  neonHttp: string;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  let relay: NeonRelay;
  try {
    relay = await startNeonRelay({ port: options.relayPort });
  } catch (error) {
    throw stackError('the Neon relay', options.relayPort, 'WATCHTOWER_TEST_RELAY_PORT', error);
  }
  let upstash: UpstashRest;
  try {
    upstash = await startUpstashRest({
      port: options.upstashPort,
      token: options.upstashToken,
      redisUrl: options.redisUrl,
    });
  } catch (error) {
    await relay.close();
    throw stackError('the Upstash REST stand-in', options.upstashPort, 'WATCHTOWER_TEST_UPSTASH_PORT', error);
  }
  let neonHttp: NeonHttp;
  try {
    neonHttp = await startNeonHttp({ port: options.neonHttpPort ?? 0 });
  } catch (error) {
    await Promise.all([relay.close(), upstash.close()]);
    throw stackError(
      'the Neon HTTP stand-in',
      options.neonHttpPort ?? 0,
      'WATCHTOWER_TEST_NEON_HTTP_PORT',
      error,
    );
  }
  return {
    relayPort: relay.port,
    upstashUrl: upstash.url,
    neonHttp: `127.0.0.1:${neonHttp.port}`,
    async close() {
      await Promise.all([relay.close(), upstash.close(), neonHttp.close()]);
    },
  };
}

function stackError(what: string, port: number, variable: string, cause: unknown): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  const hint = message.includes('already in use')
    ? ` Another dev server or test run may hold port ${port}: stop it, or choose another port with ${variable}.`
    : '';
  const sentence = /[.?!]$/.test(message) ? message : `${message}.`;
  return new Error(`local stack: cannot start ${what}: ${sentence}${hint}`, { cause });
}
