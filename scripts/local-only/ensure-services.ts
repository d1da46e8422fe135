/** Local development and CI only: starts Postgres and Redis where installed but down. */
import { ensurePostgres, ensureRedis } from './services';

Promise.all([ensurePostgres(), ensureRedis()]).then(
  () => console.log('Postgres and Redis are up.'),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
