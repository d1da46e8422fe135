/**
 * LOCAL TEST TOOLING: the Node side of the workerd tests, run as a child process of the global
 * setup (`node --import tsx test/setup/workers-stack.ts`).
 *
 * It is a separate process because the Workers pool's Vite plugin makes every module the global
 * setup imports resolve like Worker code (`browser`/`workerd` conditions, all dependencies inlined):
 * `ws` resolves to its browser stub and ioredis loses its named exports. Here they load as Node does.
 *
 * Prints one line `WATCHTOWER_STACK_READY {json}` when the backends are ready and the stand-ins
 * listen, then runs until SIGTERM/SIGINT or until its stdin closes (the parent died).
 */
import { ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { recreateDatabase } from '../support/fresh-database';
import { startLocalStack } from '../support/local-stack';
import { startJwksStandIn } from './jwks-stand-in';
import { testEnv } from './test-env';
import { READY_PREFIX, type StackReady } from './workers-stack-protocol';

async function main(): Promise<void> {
  await Promise.all([ensurePostgres(testEnv.databaseUrl), ensureRedis(testEnv.redisUrl)]);
  // Made afresh: whatever an earlier run of other code left in it cannot refuse this run's migrations.
  await recreateDatabase(testEnv.databaseUrl);
  const stack = await startLocalStack({
    relayPort: testEnv.relayPort,
    upstashPort: testEnv.upstashPort,
    upstashToken: testEnv.upstashToken,
    redisUrl: testEnv.redisUrl,
    neonHttpPort: testEnv.neonHttpPort,
  });
  const jwks = await startJwksStandIn();

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    Promise.all([stack.close(), jwks.close()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();

  const ready: StackReady = {
    databaseUrl: testEnv.databaseUrl,
    relayPort: stack.relayPort,
    neonHttp: stack.neonHttp,
    upstashUrl: stack.upstashUrl,
    upstashToken: testEnv.upstashToken,
    jwksUrl: jwks.url,
  };
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(ready)}\n`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
