import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase, ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { bundleTestCli } from './test-cli';
import { testEnv } from './test-env';

/**
 * Before the Node tests: the services are up, the test database exists and is migrated, and the
 * worker-host's bundle the tests run is built (test-cli.ts). After them, the bundle goes.
 */
export default async function setup(): Promise<() => void> {
  await Promise.all([ensurePostgres(), ensureRedis()]);
  await ensureDatabase(testEnv.databaseUrl);
  await migrateDatabase(testEnv.databaseUrl);
  return bundleTestCli();
}
