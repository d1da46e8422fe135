import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { ensureDatabase } from '../../scripts/local-only/services';
import { testEnv } from '../setup/test-env';

/**
 * Databases as an earlier release left them: the committed migrations up to a point of the journal
 * (drizzle/migrations/meta/_journal.json), applied by drizzle's own migrator, so that the current
 * `migrateDatabase` later finds them recorded as applied and runs only the rest.
 */

const migrationsFolder = fileURLToPath(new URL('../../drizzle/migrations', import.meta.url));

interface Journal {
  entries: { idx: number; tag: string }[];
}

/** The committed migrations' tags, oldest first. */
export function journalTags(): string[] {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as Journal;
  return journal.entries.map((entry) => entry.tag);
}

/** Where a prefix ends: through a migration named by its tag, or all but the newest `allBut`. */
export type JournalCut = { through: string } | { allBut: number };

/** The tags a cut keeps; throws when the cut names no migration or keeps none. */
export function journalPrefix(cut: JournalCut): string[] {
  const tags = journalTags();
  const end = 'through' in cut ? tags.indexOf(cut.through) + 1 : tags.length - cut.allBut;
  if ('through' in cut && end === 0) throw new Error(`no migration ${cut.through} in the journal`);
  if (end < 1 || end > tags.length) {
    throw new Error(`cannot keep ${end} of the journal's ${tags.length} migrations`);
  }
  return tags.slice(0, end);
}

/**
 * Applies the journal's migrations up to `cut` to `databaseUrl` (created when missing), from a copy
 * of the migrations folder whose journal ends there. Returns the tags applied.
 */
export async function migrateThrough(databaseUrl: string, cut: JournalCut): Promise<string[]> {
  const kept = journalPrefix(cut);
  const folder = mkdtempSync(join(tmpdir(), 'watchtower-migrations-'));
  try {
    cpSync(migrationsFolder, folder, { recursive: true });
    const journalPath = join(folder, 'meta/_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as Journal;
    journal.entries = journal.entries.slice(0, kept.length);
    writeFileSync(journalPath, JSON.stringify(journal));
    await ensureDatabase(databaseUrl);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await migrate(drizzle(client), { migrationsFolder: folder });
    } finally {
      await client.end();
    }
    return kept;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** A database of its own beside the test database, dropped by `drop()`. */
export function scratchDatabase(prefix: string): { url: string; drop: () => Promise<void> } {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const url = new URL(testEnv.databaseUrl);
  url.pathname = `/${name}`;
  const maintenance = new URL(testEnv.databaseUrl);
  maintenance.pathname = '/postgres';
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: maintenance.toString() });
      await client.connect();
      try {
        await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
