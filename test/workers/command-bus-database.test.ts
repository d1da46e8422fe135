import { env } from 'cloudflare:workers';
import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { createNeonDatabase } from '../../core/db/neon-database';
import { commandBusContract } from '../contract/command-bus.contract';

// The contract inside workerd on the database driver, as the Cloudflare Worker opens it: drizzle
// over Neon's serverless driver (WebSocket; locally through the relay). No LISTEN in a Worker.
commandBusContract(
  'database driver over Neon serverless, workerd',
  async () => {
    const neon = createNeonDatabase({ url: env.DATABASE_URL!, localRelay: env.WATCHTOWER_LOCAL_NEON_RELAY });
    return new DatabaseCommandBus(neon.db, { close: neon.close });
  },
  { push: false },
);
