import { resealConnections } from '../../core/crypto/reseal-connections';
import { resealChannels } from '../alerts/reseal-channels';
import { keyRing } from '../encryption-keys';
import type { HousekeepingStep } from './step';

/** Rows per statement and statements per run: connections are few, a rotation spreads over runs. */
export const RESEAL_BOUNDS = { batchSize: 100, maxBatches: 10 } as const;

/**
 * Key rotation, a bounded part per run: connection secrets (and alert channels' URLs and secrets) still sealed with
 * WATCHTOWER_ENCRYPTION_KEY_PREVIOUS are sealed again with WATCHTOWER_ENCRYPTION_KEY (the same
 * work as `watchtower keys rotate`). Without a previous key there is nothing to do. Only counts
 * reach the log, never a value. Rows it cannot re-seal (sealed with neither key, or not opening)
 * are counted in the summary line rather than failing every run: an admin fixes them by setting
 * their secrets again, and `watchtower keys rotate` exits 1 while they remain.
 */
export const resealSecrets: HousekeepingStep = {
  name: 'secrets',
  async run({ db, env }) {
    const ring = await keyRing(env);
    if (!ring) return 'no key';
    if (!ring.previous) return 'no rotation';
    const report = await resealConnections(db, ring, RESEAL_BOUNDS);
    // Alert channels' URLs and signing secrets too (few: one pass).
    const channels = await resealChannels(db, ring);
    const account = `re-sealed ${report.resealed}, left ${report.remaining}, alert channels re-sealed ${channels.resealed}`;
    const stuck = report.failed + report.unknownKey + channels.failed;
    return stuck === 0 ? account : `${account}, ${stuck} cannot be re-sealed (see watchtower keys rotate)`;
  },
};
