import { BusError } from './bus-error';
import {
  type ClaimRequest,
  type CommandOutcome,
  type CommandTarget,
  DEFAULT_CLAIM_LIMIT,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_TTL_SECONDS,
  type SendCommandInput,
  TARGET_KINDS,
  type TargetKind,
} from './command-bus';

/**
 * Every driver validates through these functions before touching its backend, so bad input fails
 * the same way, with the same message, on both drivers and in both runtimes.
 */

export const MAX_KEY_LENGTH = 200;
export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_TTL_SECONDS = 7 * 24 * 3600;
export const MAX_LEASE_SECONDS = 3600;
export const MAX_CLAIM_LIMIT = 1000;
export const MAX_CLAIM_TARGETS = 5000;
export const MAX_TARGET_ID_LENGTH = 200;

// Printable ASCII without spaces: keys end up in Redis key names, SQL parameters and log lines.
// The Redis driver keeps its commands under these names; a put there would overwrite one.
const RESERVED_PREFIXES = ['watchtower:command:', 'watchtower:commands:'];
const KEY_PATTERN = /^watchtower:[\x21-\x7e]+$/;
const TARGET_ID_PATTERN = /^[\x21-\x7e]+$/;
const TYPE_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validateKey(key: unknown): string {
  if (typeof key !== 'string') throw new BusError('invalid_key', `key must be a string, got ${typeOf(key)}`);
  if (key.length > MAX_KEY_LENGTH) {
    throw new BusError('invalid_key', `key is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH}`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new BusError(
      'invalid_key',
      `key ${JSON.stringify(key.slice(0, 60))} must start with "watchtower:" and hold only printable ASCII without spaces`,
    );
  }
  if (RESERVED_PREFIXES.some((prefix) => key.startsWith(prefix))) {
    throw new BusError('invalid_key', `keys under ${RESERVED_PREFIXES.join(' and ')} belong to the commands`);
  }
  return key;
}

/** Serializes a value for storage; it must survive JSON and stay under the size cap. */
export function serializeValue(value: unknown): string {
  if (value === undefined) throw new BusError('invalid_value', 'value must not be undefined');
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new BusError('invalid_value', `value cannot be serialized to JSON: ${(error as Error).message}`);
  }
  if (text === undefined)
    throw new BusError('invalid_value', `value of type ${typeOf(value)} cannot be stored`);
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new BusError('invalid_value', 'value must be a finite number');
  }
  const bytes = new TextEncoder().encode(text).byteLength;
  if (bytes > MAX_VALUE_BYTES) {
    throw new BusError('invalid_value', `value is ${bytes} bytes as JSON; the limit is ${MAX_VALUE_BYTES}`);
  }
  return text;
}

export function validateTtl(ttl: unknown, name = 'ttl'): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl)) {
    throw new BusError('invalid_ttl', `${name} must be a whole number of seconds, got ${describe(ttl)}`);
  }
  if (ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new BusError('invalid_ttl', `${name} must be between 1 and ${MAX_TTL_SECONDS} seconds, got ${ttl}`);
  }
  return ttl;
}

export function validateId(id: unknown): string {
  if (typeof id !== 'string' || !UUID_PATTERN.test(id)) {
    throw new BusError('invalid_command', `command id must be a uuid, got ${describe(id)}`);
  }
  return id.toLowerCase();
}

/** Whether `id` can name a command at all; `find` answers null for anything else. */
export function isCommandId(id: unknown): id is string {
  return typeof id === 'string' && UUID_PATTERN.test(id);
}

export function validateTarget(target: unknown, code: 'invalid_command' | 'invalid_claim'): CommandTarget {
  if (typeof target !== 'object' || target === null) {
    throw new BusError(code, `target must be an object { kind, id }, got ${describe(target)}`);
  }
  const { kind, id } = target as { kind?: unknown; id?: unknown };
  if (typeof kind !== 'string' || !(TARGET_KINDS as readonly string[]).includes(kind)) {
    throw new BusError(code, `target.kind must be one of ${TARGET_KINDS.join(', ')}, got ${describe(kind)}`);
  }
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > MAX_TARGET_ID_LENGTH ||
    !TARGET_ID_PATTERN.test(id)
  ) {
    throw new BusError(
      code,
      `target.id must be 1 to ${MAX_TARGET_ID_LENGTH} printable ASCII characters without spaces, got ${describe(id)}`,
    );
  }
  return { kind: kind as TargetKind, id };
}

export interface ValidSendCommand {
  id: string | undefined;
  target: CommandTarget;
  type: string;
  args: Record<string, unknown>;
  argsJson: string;
  ttl: number;
  createdBy: string | null;
}

export function validateSend(input: unknown): ValidSendCommand {
  if (typeof input !== 'object' || input === null) {
    throw new BusError('invalid_command', `command must be an object, got ${describe(input)}`);
  }
  const raw = input as Partial<Record<keyof SendCommandInput, unknown>>;
  const target = validateTarget(raw.target, 'invalid_command');
  if (typeof raw.type !== 'string' || !TYPE_PATTERN.test(raw.type)) {
    throw new BusError(
      'invalid_command',
      `type must be lower-case letters, digits and _ . : - (at most 64, starting with a letter), got ${describe(raw.type)}`,
    );
  }
  const args = raw.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new BusError('invalid_command', `args must be an object, got ${describe(args)}`);
  }
  let argsJson: string;
  try {
    argsJson = serializeValue(args);
  } catch (error) {
    throw new BusError('invalid_command', `args: ${(error as Error).message}`);
  }
  const ttl = raw.ttl === undefined ? DEFAULT_TTL_SECONDS : validateTtl(raw.ttl);
  const id = raw.id === undefined ? undefined : validateId(raw.id);
  if (raw.createdBy !== undefined && (typeof raw.createdBy !== 'string' || raw.createdBy.length > 200)) {
    throw new BusError('invalid_command', 'createdBy must be a string of at most 200 characters');
  }
  return {
    id,
    target,
    type: raw.type,
    args: args as Record<string, unknown>,
    argsJson,
    ttl,
    createdBy: (raw.createdBy as string | undefined) ?? null,
  };
}

export interface ValidClaim {
  claimer: string;
  targets: CommandTarget[];
  leaseSeconds: number;
  limit: number;
  /** Null: no limit per target but `limit`. */
  perTarget: number | null;
}

export function validateClaim(request: unknown): ValidClaim {
  if (typeof request !== 'object' || request === null) {
    throw new BusError('invalid_claim', `claim must be an object, got ${describe(request)}`);
  }
  const raw = request as Partial<Record<keyof ClaimRequest, unknown>>;
  if (
    typeof raw.claimer !== 'string' ||
    raw.claimer.length === 0 ||
    raw.claimer.length > MAX_TARGET_ID_LENGTH
  ) {
    throw new BusError('invalid_claim', `claimer must be a non-empty host id, got ${describe(raw.claimer)}`);
  }
  if (!Array.isArray(raw.targets) || raw.targets.length > MAX_CLAIM_TARGETS) {
    throw new BusError('invalid_claim', `targets must be an array of at most ${MAX_CLAIM_TARGETS} targets`);
  }
  const seen = new Set<string>();
  const targets: CommandTarget[] = [];
  for (const candidate of raw.targets) {
    const target = validateTarget(candidate, 'invalid_claim');
    const key = `${target.kind}\u0000${target.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      targets.push(target);
    }
  }
  const leaseSeconds = raw.leaseSeconds === undefined ? DEFAULT_LEASE_SECONDS : raw.leaseSeconds;
  if (typeof leaseSeconds !== 'number' || !(leaseSeconds > 0) || leaseSeconds > MAX_LEASE_SECONDS) {
    throw new BusError('invalid_claim', `leaseSeconds must be above 0 and at most ${MAX_LEASE_SECONDS}`);
  }
  const limit = raw.limit === undefined ? DEFAULT_CLAIM_LIMIT : raw.limit;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_CLAIM_LIMIT) {
    throw new BusError('invalid_claim', `limit must be a whole number from 1 to ${MAX_CLAIM_LIMIT}`);
  }
  const perTarget = raw.perTarget === undefined ? null : raw.perTarget;
  if (
    perTarget !== null &&
    (typeof perTarget !== 'number' ||
      !Number.isInteger(perTarget) ||
      perTarget < 1 ||
      perTarget > MAX_CLAIM_LIMIT)
  ) {
    throw new BusError('invalid_claim', `perTarget must be a whole number from 1 to ${MAX_CLAIM_LIMIT}`);
  }
  return { claimer: raw.claimer, targets, leaseSeconds, limit, perTarget };
}

export interface ValidOutcome {
  status: 'done' | 'failed';
  resultJson: string;
  error: string | null;
}

export function validateOutcome(outcome: unknown): ValidOutcome {
  if (
    typeof outcome !== 'object' ||
    outcome === null ||
    typeof (outcome as { ok?: unknown }).ok !== 'boolean'
  ) {
    throw new BusError('invalid_outcome', 'outcome must be { ok: true, result? } or { ok: false, error }');
  }
  const raw = outcome as CommandOutcome;
  let resultJson: string;
  try {
    resultJson = serializeValue(raw.result ?? null);
  } catch (error) {
    throw new BusError('invalid_outcome', `result: ${(error as Error).message}`);
  }
  if (raw.ok) return { status: 'done', resultJson, error: null };
  if (typeof raw.error !== 'string' || raw.error.length === 0) {
    throw new BusError('invalid_outcome', 'a failed outcome needs an error message');
  }
  return { status: 'failed', resultJson, error: raw.error.slice(0, 4000) };
}

export function validateToken(token: unknown): string {
  if (typeof token !== 'string' || !UUID_PATTERN.test(token)) {
    throw new BusError('invalid_outcome', `claim token must be a uuid, got ${describe(token)}`);
  }
  return token.toLowerCase();
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeOf(value);
}
