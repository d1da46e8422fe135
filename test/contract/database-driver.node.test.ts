import { DatabaseCommandBus } from '../../core/bus/database-command-bus';
import { PgNotificationListener } from '../../worker-host/bus/pg-notification-listener';
import { createNodeDatabase } from '../../worker-host/db/node-database';
import { testEnv } from '../setup/test-env';
import { commandBusContract } from './command-bus.contract';

// The contract on the database driver as a worker-host opens it: node-postgres plus LISTEN for push.
commandBusContract(
  'database driver, node',
  async () => {
    const { db, close } = createNodeDatabase(testEnv.databaseUrl);
    return new DatabaseCommandBus(db, { listener: new PgNotificationListener(testEnv.databaseUrl), close });
  },
  { push: true },
);
