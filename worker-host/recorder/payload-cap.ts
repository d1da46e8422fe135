import { ConfigError } from '../config/config-error';
import { TEXT_CEILING } from './clean-rows';
import { DEFAULT_PAYLOAD_CAP } from './job-event';

/** The range of `recorder.maxPayloadBytes` (below: why it ends at 8 MB). */
export const MIN_PAYLOAD_CAP = 1024;
export const MAX_PAYLOAD_CAP = 8 * 1024 * 1024;

/**
 * How many bytes of a job's data (and of its return value and error message) the recorder keeps:
 * `recorder.maxPayloadBytes` in the configuration, else WATCHTOWER_MAX_PAYLOAD_BYTES, else 16 KB.
 * Past it a payload is stored cut down and flagged `payload_truncated` (job-event.ts, capJson).
 *
 * The ceiling is 8 MB: each recorded event of a job carries its payload from the worker process to
 * the supervisor, the recorder holds it until its batch is written, and Postgres rewrites the row
 * (and its search text) on every step of the job. A few MB per job is a choice a team can make for
 * the jobs it needs to read back whole; tens of MB per job would make one busy queue hold the host's
 * memory and the database's write path.
 */
export const PAYLOAD_CAP_ENV = 'WATCHTOWER_MAX_PAYLOAD_BYTES';

export interface PayloadCapSetting {
  bytes: number;
  /** Where it comes from, for messages: the field, the variable, or the default. */
  source: string;
}

/** The range as a sentence, shared by the schema, the variable and the worker's option. */
export const PAYLOAD_CAP_RANGE = `a whole number of bytes from ${MIN_PAYLOAD_CAP} to ${MAX_PAYLOAD_CAP} (8 MB)`;

/**
 * The cap: `recorder.maxPayloadBytes` (checked by the schema), else the variable, else 16 KB. A
 * variable that is not a whole number in range throws, saying the range and why it ends at 8 MB.
 */
export function payloadCapSetting(configured: number | undefined, env: NodeJS.ProcessEnv): PayloadCapSetting {
  if (configured !== undefined) return { bytes: configured, source: 'recorder.maxPayloadBytes' };
  const raw = env[PAYLOAD_CAP_ENV]?.trim();
  if (raw) return { bytes: parsePayloadCap(raw, PAYLOAD_CAP_ENV), source: PAYLOAD_CAP_ENV };
  return { bytes: DEFAULT_PAYLOAD_CAP, source: 'the default' };
}

/** A cap given as text (the variable, the worker's command line); throws ConfigError when out of range. */
export function parsePayloadCap(raw: string, name: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < MIN_PAYLOAD_CAP) {
    throw new ConfigError(`${name} must be ${PAYLOAD_CAP_RANGE}, got ${JSON.stringify(raw)}`);
  }
  if (value > MAX_PAYLOAD_CAP) {
    throw new ConfigError(
      `${name} must be at most ${MAX_PAYLOAD_CAP} (8 MB), got ${value}: bigger payloads would sit whole in the host's memory and be rewritten in Postgres at every step of a job; keep a reference to the data (a file, an object key) in the job instead`,
    );
  }
  return value;
}

/**
 * The longest text the recorder lets through to Postgres for a cap (clean-rows.ts): a payload cut
 * at the cap is kept as a JSON string of its start, which can double in length (every quote and
 * backslash escaped). Never below TEXT_CEILING, which the default cap was sized for.
 */
export function textCeilingFor(cap: number): number {
  return Math.max(TEXT_CEILING, 2 * cap + 16);
}
