import { migrateDatabase } from '../../drizzle/migrate';
import { type CliCommand, databaseUrl, parse, print } from './cli-support';

const usage = `Usage: watchtower migrate

Applies Watchtower's migrations to DATABASE_URL (safe to run from several machines at once).

Options:
  -h, --help  Show this help`;

export const command: CliCommand = {
  name: 'migrate',
  summary: "Apply Watchtower's database migrations",
  usage,
  async run(argv) {
    const { values } = parse('migrate', argv, {});
    if (values.help) {
      print(usage);
      return 0;
    }
    const { applied } = await migrateDatabase(databaseUrl());
    print(applied === 0 ? 'Database is up to date.' : `Applied ${applied} migration(s).`);
    return 0;
  },
};
