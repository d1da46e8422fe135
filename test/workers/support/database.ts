import { env } from 'cloudflare:workers';
import { createNeonDatabase, type NeonDatabaseHandle } from '../../../core/db/neon-database';

/**
 * A database handle for a test to look at what the Worker wrote, through the same local relay.
 * Open it in `beforeAll` and close it in `afterAll`.
 */
export function openTestDatabase(): NeonDatabaseHandle {
  return createNeonDatabase({
    url: env.DATABASE_URL ?? '',
    localRelay: env.WATCHTOWER_LOCAL_NEON_RELAY,
  });
}
