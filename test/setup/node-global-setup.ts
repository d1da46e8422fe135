import { ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { recreateDatabase } from '../support/fresh-database';
import { buildWebInChild } from '../support/web-build';
import { bundleTestCli } from './test-cli';
import { testEnv } from './test-env';

/**
 * Before the Node tests: the services are up, the test database is made afresh from the committed
 * migrations (a database left by a run of other code, with migrations applied under numbers that
 * have changed since, would refuse this run's), and the worker-host's bundle the tests run is built
 * (test-cli.ts), as is the dashboard. After them, the bundle goes.
 */
export default async function setup(): Promise<() => void> {
  await Promise.all([ensurePostgres(), ensureRedis()]);
  const [, removeBundle] = await Promise.all([
    recreateDatabase(testEnv.databaseUrl),
    bundleTestCli(),
    // The dashboard, built once for every browser file's stack (dashboard-stack.ts).
    buildWebInChild().then(() => {
      process.env.WATCHTOWER_TEST_WEB_BUILT = '1';
    }),
  ]);
  return removeBundle;
}
