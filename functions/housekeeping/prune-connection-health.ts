import { HOUSEKEEPING_DEFAULTS } from '../config';
import { pruneRollups } from './prune-rollups';

/**
 * The connections' per-minute health rows older than WATCHTOWER_RETENTION_HEALTH_DAYS (30 by
 * default, like the metrics' minutes), and their hourly rollups older than the longer of that and
 * 90 days (hourlyRetentionDays, as for the metrics), in bounded batches.
 */
export const pruneConnectionHealth = pruneRollups(
  'connection health',
  'WATCHTOWER_RETENTION_HEALTH_DAYS',
  HOUSEKEEPING_DEFAULTS.healthDays,
  {
    minutes: 'watchtower_connection_health',
    hourly: 'watchtower_connection_health_hourly',
    keys: ['host_id', 'connection'],
  },
);
