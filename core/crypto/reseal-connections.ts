import { sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../db/database';
import { type KeyRing, openSecret, SEALED_VERSION, sealSecret, secretContext } from './sealed-secrets';

/**
 * Key rotation for the connections' secrets: every value sealed with the previous key is opened
 * and sealed again with the current one. Shared by `watchtower keys rotate` (worker-host) and the
 * cron's housekeeping step (functions), so both do exactly the same.
 *
 * Safe to run any number of times and at the same time as edits: each batch is one UPDATE that
 * changes a field only if it still holds the value that was read (an admin's new password written
 * meanwhile is kept), and a value already sealed with the current key is never touched. It does
 * not raise `version`: the secret's meaning is unchanged, hosts need not reload for it.
 */

export const CONNECTION_SECRET_FIELDS = ['password', 'url'] as const;

export type ConnectionSecretField = (typeof CONNECTION_SECRET_FIELDS)[number];

/** The additional data a connection's secret is sealed with: its row id and its field. */
export function connectionSecretContext(id: string, field: ConnectionSecretField): string {
  return secretContext('connections', id, field);
}

export interface ResealBounds {
  /** Rows read and written per statement. */
  batchSize: number;
  /** Batches at most in this call (the cron's bound); Infinity for the CLI, which goes to the end. */
  maxBatches: number;
}

export interface ResealReport {
  /** Rows whose secrets were sealed again with the current key. */
  resealed: number;
  /** Rows sealed with the previous key that did not open (tampered, or the wrong previous key). */
  failed: number;
  /** Rows still sealed with the previous key when this call stopped (its bound reached). */
  remaining: number;
  /** Rows sealed with a key that is neither the current nor the previous one: they cannot be read. */
  unknownKey: number;
}

interface SealedRow {
  id: string;
  password_sealed: string | null;
  url_sealed: string | null;
}

function keyPrefix(keyId: string): string {
  return `${SEALED_VERSION}.${keyId}.%`;
}

/**
 * Re-seals, batch by batch in id order, the rows with a secret sealed by `ring.previous`. Without
 * a previous key there is nothing it can open: it only counts what no key of the ring reads.
 */
export async function resealConnections(
  db: StatementDatabase,
  ring: KeyRing,
  bounds: ResealBounds,
): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, failed: 0, remaining: 0, unknownKey: 0 };
  const previous = ring.previous;
  if (previous) {
    const like = keyPrefix(previous.id);
    let after = '00000000-0000-0000-0000-000000000000';
    for (let batch = 0; batch < bounds.maxBatches; batch++) {
      const rows = rowsOf<SealedRow>(
        await db.execute(sql`
          select id::text as id, password_sealed, url_sealed from watchtower_connections
          where id > ${after}::uuid and (password_sealed like ${like} or url_sealed like ${like})
          order by id limit ${bounds.batchSize}`),
      );
      const updates: { id: string; field: ConnectionSecretField; from: string; to: string }[] = [];
      for (const row of rows) {
        const rowUpdates: typeof updates = [];
        try {
          for (const field of CONNECTION_SECRET_FIELDS) {
            const sealed = field === 'password' ? row.password_sealed : row.url_sealed;
            if (sealed === null || !sealed.startsWith(`${SEALED_VERSION}.${previous.id}.`)) continue;
            const context = connectionSecretContext(row.id, field);
            const plaintext = await openSecret(ring, sealed, context);
            rowUpdates.push({
              id: row.id,
              field,
              from: sealed,
              to: await sealSecret(ring, plaintext, context),
            });
          }
          // All of a row's fields or none: a row is either done or left as it was.
          updates.push(...rowUpdates);
          report.resealed++;
        } catch {
          // Never the value, nor the error's text beyond the count: the caller logs counts only.
          report.failed++;
        }
      }
      if (updates.length > 0) await writeBatch(db, updates);
      after = rows.at(-1)?.id ?? after;
      if (rows.length < bounds.batchSize) break;
    }
    report.remaining = await countLike(db, like);
    // Rows that failed stay sealed with the previous key: they are not "remaining work".
    report.remaining = Math.max(0, report.remaining - report.failed);
  }
  report.unknownKey = await countUnknown(db, ring);
  return report;
}

/** One statement for the whole batch; a field changes only if it still holds what was read. */
async function writeBatch(
  db: StatementDatabase,
  updates: { id: string; field: ConnectionSecretField; from: string; to: string }[],
): Promise<void> {
  // As JSON: one parameter whatever the driver (node-postgres, Neon's HTTP path) does with arrays.
  const batch = JSON.stringify(updates);
  await db.execute(sql`
    with u as (
      select * from jsonb_to_recordset(${batch}::jsonb) as u(id uuid, field text, "from" text, "to" text))
    update watchtower_connections c set
      password_sealed = coalesce(
        (select u."to" from u where u.id = c.id and u.field = 'password' and u."from" = c.password_sealed),
        c.password_sealed),
      url_sealed = coalesce(
        (select u."to" from u where u.id = c.id and u.field = 'url' and u."from" = c.url_sealed),
        c.url_sealed)
    where c.id in (select id from u)`);
}

async function countLike(db: StatementDatabase, like: string): Promise<number> {
  const rows = rowsOf<{ count: number | string }>(
    await db.execute(
      sql`select count(*)::int as count from watchtower_connections where password_sealed like ${like} or url_sealed like ${like}`,
    ),
  );
  return Number(rows[0]?.count ?? 0);
}

async function countUnknown(db: StatementDatabase, ring: KeyRing): Promise<number> {
  const known = [ring.current.id, ...(ring.previous ? [ring.previous.id] : [])];
  const rows = rowsOf<{ count: number | string }>(
    await db.execute(sql`
      select count(*)::int as count from watchtower_connections
      where (password_sealed is not null and split_part(password_sealed, '.', 2) not in ${known})
         or (url_sealed is not null and split_part(url_sealed, '.', 2) not in ${known})`),
  );
  return Number(rows[0]?.count ?? 0);
}
