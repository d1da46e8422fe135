import { HOUSEKEEPING_DEFAULTS } from '../config';
import { pruneRollups } from './prune-rollups';

/**
 * Per-minute metrics rollups older than WATCHTOWER_RETENTION_METRICS_DAYS, and hourly rollups
 * older than hourlyRetentionDays() of it, in bounded batches.
 */
export const pruneMetrics = pruneRollups(
  'metrics',
  'WATCHTOWER_RETENTION_METRICS_DAYS',
  HOUSEKEEPING_DEFAULTS.metricsDays,
  { minutes: 'watchtower_metrics', hourly: 'watchtower_metrics_hourly', keys: ['connection', 'queue'] },
);
