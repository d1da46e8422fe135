import { migrateDatabase } from '../../drizzle/migrate';
import { ensureDatabase, ensurePostgres, ensureRedis } from '../../scripts/local-only/services';
import { testEnv } from './test-env';

/** Before the Node tests: the services are up and the test database exists and is migrated. */
export default async function setup(): Promise<void> {
  await Promise.all([ensurePostgres(), ensureRedis()]);
  await ensureDatabase(testEnv.databaseUrl);
  await migrateDatabase(testEnv.databaseUrl);
}
