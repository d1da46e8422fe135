import { and, eq, isNotNull, like, or } from 'drizzle-orm';
import { type KeyRing, SEALED_VERSION } from '../../core/crypto/sealed-secrets';
import type { StatementDatabase } from '../../core/db/database';
import { alertChannels } from '../../drizzle/schema';
import { type ChannelSecretField, openChannelField, sealChannelField } from './channel-secrets';

/**
 * Key rotation for alert channels: URLs and secrets still sealed with the previous key are sealed
 * again with the current one. Channels are few: one bounded pass per cron run. A field changes
 * only if it still holds the value that was read (an admin's new URL written meanwhile is kept).
 */

const BATCH = 100;

export interface ChannelResealReport {
  resealed: number;
  failed: number;
}

export async function resealChannels(db: StatementDatabase, ring: KeyRing): Promise<ChannelResealReport> {
  const report: ChannelResealReport = { resealed: 0, failed: 0 };
  const previous = ring.previous;
  if (!previous) return report;
  const prefix = `${SEALED_VERSION}.${previous.id}.`;
  const rows = await db
    .select()
    .from(alertChannels)
    .where(or(like(alertChannels.urlSealed, `${prefix}%`), like(alertChannels.secretSealed, `${prefix}%`)))
    .limit(BATCH);
  for (const row of rows) {
    try {
      const fresh = async (field: ChannelSecretField, sealed: string | null) =>
        sealed?.startsWith(prefix)
          ? sealChannelField(ring, row.id, field, await openChannelField(ring, row.id, field, sealed))
          : sealed;
      const urlSealed = await fresh('url', row.urlSealed);
      const secretSealed = await fresh('secret', row.secretSealed);
      await db
        .update(alertChannels)
        .set({ urlSealed, secretSealed })
        .where(
          and(
            eq(alertChannels.id, row.id),
            row.urlSealed === null
              ? undefined
              : and(isNotNull(alertChannels.urlSealed), eq(alertChannels.urlSealed, row.urlSealed)),
            row.secretSealed === null
              ? undefined
              : and(isNotNull(alertChannels.secretSealed), eq(alertChannels.secretSealed, row.secretSealed)),
          ),
        );
      report.resealed++;
    } catch {
      // Never the value nor the error's text: counts only.
      report.failed++;
    }
  }
  return report;
}
