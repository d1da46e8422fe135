import { resealConnections } from '../../core/crypto/reseal-connections';
import {
  CURRENT_KEY_VARIABLE,
  EncryptionKeyError,
  loadKeyRing,
  PREVIOUS_KEY_VARIABLE,
} from '../../core/crypto/sealed-secrets';
import { createNodeDatabase } from '../db/node-database';
import {
  type CliCommand,
  databaseUrl,
  numberOption,
  parse,
  print,
  printError,
  UsageError,
} from './cli-support';

const usage = `Usage: watchtower keys rotate [--batch=n]

Re-seals every connection secret (passwords, Postgres URLs) still sealed with the previous key,
with the current one, in batches. Safe to run again, and while the dashboard is in use: a secret
already sealed with the current key, or changed meanwhile, is left as it is.

A rotation: set ${PREVIOUS_KEY_VARIABLE} to the old key and ${CURRENT_KEY_VARIABLE}
to a new one (\`openssl rand -base64 32\`), on the Cloudflare Worker and here; run this (or let
the cron do it, a part per minute); when it reports nothing left, remove ${PREVIOUS_KEY_VARIABLE}.

Environment: DATABASE_URL, ${CURRENT_KEY_VARIABLE}, ${PREVIOUS_KEY_VARIABLE}.

Options:
  --batch=n   Rows per statement (default 100)
  -h, --help  Show this help

Exit status: 0 when every secret opens with the current key; 1 when some could not be re-sealed.`;

export const command: CliCommand = {
  name: 'keys',
  summary: 'Rotate the key that seals connection secrets',
  usage,
  async run(argv) {
    const { values, positionals } = parse('keys', argv, { batch: { type: 'string' } }, true);
    if (values.help) {
      print(usage);
      return 0;
    }
    if (positionals.length !== 1 || positionals[0] !== 'rotate') {
      throw new UsageError(
        `${positionals.length === 0 ? 'keys needs a subcommand' : `Unknown keys subcommand "${positionals.join(' ')}"`}: the one there is is \`watchtower keys rotate\`.\nRun \`watchtower keys --help\` for its options.`,
      );
    }
    const batchSize = numberOption('batch', values.batch, 100, { min: 1, max: 10_000, integer: true });
    const ring = await loadRing();
    if (!ring.previous) {
      throw new UsageError(
        `${PREVIOUS_KEY_VARIABLE} is not set: a rotation re-seals what the previous key sealed, so give the old key there and the new one in ${CURRENT_KEY_VARIABLE}`,
      );
    }
    const database = createNodeDatabase(databaseUrl(), { max: 1 });
    try {
      const report = await resealConnections(database.db, ring, {
        batchSize,
        maxBatches: Number.POSITIVE_INFINITY,
      });
      print(
        `Re-sealed ${report.resealed} connection(s) with key ${ring.current.id} (previous key ${ring.previous.id}).`,
      );
      if (report.failed > 0) {
        printError(
          `${report.failed} connection(s) sealed with key ${ring.previous.id} did not open: tampered with, or copied from another row. Set their secrets again.`,
        );
      }
      if (report.unknownKey > 0) {
        printError(
          `${report.unknownKey} connection(s) are sealed with a key that is neither ${CURRENT_KEY_VARIABLE} nor ${PREVIOUS_KEY_VARIABLE}: give that key as ${PREVIOUS_KEY_VARIABLE} and run this again, or set their secrets again.`,
        );
      }
      if (report.failed === 0 && report.unknownKey === 0) {
        print(`Every connection secret opens with the current key: ${PREVIOUS_KEY_VARIABLE} can be removed.`);
        return 0;
      }
      return 1;
    } finally {
      await database.close().catch(() => undefined);
    }
  },
};

/** Both variables, checked: a missing or malformed key is a usage error naming the variable. */
async function loadRing() {
  try {
    const ring = await loadKeyRing({
      current: process.env[CURRENT_KEY_VARIABLE],
      previous: process.env[PREVIOUS_KEY_VARIABLE],
    });
    if (!ring) {
      throw new UsageError(
        `${CURRENT_KEY_VARIABLE} is not set: give the new key (the base64 of 32 random bytes, \`openssl rand -base64 32\`)`,
      );
    }
    return ring;
  } catch (error) {
    if (error instanceof EncryptionKeyError) throw new UsageError(error.message);
    throw error;
  }
}
