import { BusError, backendCall } from './bus-error';
import {
  type ClaimedCommand,
  type ClaimRequest,
  type Command,
  type CommandBus,
  type CommandOutcome,
  type CommandStatus,
  type CommandTarget,
  DEFAULT_RETENTION_SECONDS,
  DEFAULT_TTL_SECONDS,
  type SendCommandInput,
  TARGET_KINDS,
  type TargetKind,
} from './command-bus';
import type { RedisClient } from './redis-client';
import {
  ACKNOWLEDGE_SCRIPT,
  CLAIM_SCRIPT,
  CLEANUP_SCRIPT,
  commandKey,
  DEADLINES_KEY,
  EXTEND_LEASE_SCRIPT,
  FIND_SCRIPT,
  FINISHED_KEY,
  REDIS_COMMANDS_CHANNEL,
  SEND_SCRIPT,
  SEQ_KEY,
  targetKey,
} from './redis-scripts';
import { parseTarget } from './target';
import {
  isCommandId,
  MAX_LEASE_SECONDS,
  serializeValue,
  validateClaim,
  validateId,
  validateKey,
  validateOutcome,
  validateSend,
  validateToken,
  validateTtl,
} from './validation';

const INDEXES = [DEADLINES_KEY, FINISHED_KEY];

/**
 * The command bus on Redis: Upstash REST inside the Cloudflare Worker, ioredis in a worker-host,
 * same keys (see redis-scripts.ts for the layout and the state machine). Each operation on commands
 * is one Lua script, so it is atomic and one round trip; put/get/forget are plain SET/GET/DEL.
 */
export class RedisCommandBus implements CommandBus {
  listen?: (onCommand: (target: CommandTarget) => void) => Promise<() => Promise<void>>;
  private readonly retentionMs: number;

  constructor(
    private readonly client: RedisClient,
    options: { retentionSeconds?: number } = {},
  ) {
    this.retentionMs = (options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000;
    // Only a client that can hold a subscription gets `listen`; elsewhere hosts poll.
    const subscribe = client.subscribe?.bind(client);
    if (subscribe) {
      this.listen = (onCommand) =>
        backendCall('listen', () =>
          subscribe(REDIS_COMMANDS_CHANNEL, (message) => {
            const target = parseTarget(message);
            if (target) onCommand(target);
          }),
        );
    }
  }

  async put(key: string, value: unknown, ttl: number = DEFAULT_TTL_SECONDS): Promise<void> {
    const validKey = validateKey(key);
    const json = serializeValue(value);
    const seconds = validateTtl(ttl);
    await backendCall('put', () => this.client.set(validKey, json, seconds));
  }

  async get<T = unknown>(key: string): Promise<T | null> {
    const validKey = validateKey(key);
    return backendCall('get', async () => {
      const text = await this.client.get(validKey);
      return text === null ? null : (JSON.parse(text) as T);
    });
  }

  async forget(key: string): Promise<void> {
    const validKey = validateKey(key);
    await backendCall('forget', () => this.client.del(validKey));
  }

  async send(input: SendCommandInput): Promise<Command> {
    const command = validateSend(input);
    const id = command.id ?? crypto.randomUUID();
    const args: (string | number)[] = [
      id,
      command.target.kind,
      command.target.id,
      command.type,
      command.argsJson,
      command.ttl * 1000,
      this.retentionMs,
      REDIS_COMMANDS_CHANNEL,
    ];
    if (command.createdBy !== null) args.push(command.createdBy);
    const keys = [...INDEXES, commandKey(id), targetKey(command.target), SEQ_KEY];
    return backendCall('send', async () => {
      const { now, rest } = parseReply(await this.client.eval(SEND_SCRIPT, keys, args));
      return toCommand(parseCommandReply(rest[0]), now);
    });
  }

  async claim(request: ClaimRequest): Promise<ClaimedCommand[]> {
    const claim = validateClaim(request);
    if (claim.targets.length === 0) return [];
    const keys = [...INDEXES, ...claim.targets.map(targetKey)];
    // Leases may be fractional seconds; the scripts count in whole milliseconds.
    const leaseMs = Math.max(1, Math.round(claim.leaseSeconds * 1000));
    // 0 stands for "no limit per target" (ARGV holds no nil).
    const args = [
      claim.claimer,
      leaseMs,
      claim.limit,
      crypto.randomUUID(),
      this.retentionMs,
      claim.perTarget ?? 0,
    ];
    return backendCall('claim', async () => {
      const { now, rest } = parseReply(await this.client.eval(CLAIM_SCRIPT, keys, args));
      // The script hands them out in seq order already.
      return rest.map((reply) => {
        const hash = parseCommandReply(reply);
        return { ...toCommand(hash, now), claimToken: hash.string('claimToken') };
      });
    });
  }

  async acknowledge(id: string, claimToken: string, outcome: CommandOutcome): Promise<Command> {
    const validId = validateId(id);
    const token = validateToken(claimToken);
    const valid = validateOutcome(outcome);
    const args: (string | number)[] = [validId, token, valid.status, valid.resultJson, this.retentionMs];
    if (valid.error !== null) args.push(valid.error);
    const keys = [...INDEXES, commandKey(validId)];
    const { now, changed, hash } = await backendCall('acknowledge', async () => {
      const { now, rest } = parseReply(await this.client.eval(ACKNOWLEDGE_SCRIPT, keys, args));
      return { now, changed: rest[0] === 1, hash: rest.length > 1 ? parseCommandReply(rest[1]) : null };
    });
    if (!hash) throw new BusError('not_found', `command ${validId} does not exist`);
    const command = toCommand(hash, now);
    if (changed) return command;
    const storedToken = hash.optional('claimToken');
    const repeated = (command.status === 'done' || command.status === 'failed') && storedToken === token;
    if (repeated) return command;
    throw new BusError('lease_lost', leaseLostMessage(command, storedToken === token));
  }

  async extendLease(id: string, claimToken: string, leaseSeconds: number): Promise<boolean> {
    const validId = validateId(id);
    const token = validateToken(claimToken);
    if (typeof leaseSeconds !== 'number' || !(leaseSeconds > 0) || leaseSeconds > MAX_LEASE_SECONDS) {
      throw new BusError('invalid_claim', `leaseSeconds must be above 0 and at most ${MAX_LEASE_SECONDS}`);
    }
    const leaseMs = Math.max(1, Math.round(leaseSeconds * 1000));
    const keys = [...INDEXES, commandKey(validId)];
    const reply = await backendCall('extendLease', () =>
      this.client.eval(EXTEND_LEASE_SCRIPT, keys, [validId, token, leaseMs, this.retentionMs]),
    );
    return reply === 1;
  }

  async find(id: string): Promise<Command | null> {
    if (!isCommandId(id)) return null;
    const keys = [...INDEXES, commandKey(id.toLowerCase())];
    return backendCall('find', async () => {
      const { now, rest } = parseReply(await this.client.eval(FIND_SCRIPT, keys, []));
      const hash = parseCommandReply(rest[0]);
      return hash.size === 0 ? null : toCommand(hash, now);
    });
  }

  async cleanup(options: { limit?: number; retentionSeconds?: number } = {}): Promise<number> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
    const retention = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    // Key/value entries and abandoned commands expire in Redis on their own; this expires overdue
    // commands and trims the indexes, at most `limit` entries of each.
    const args = [Math.floor(limit), Math.max(0, Math.round(retention * 1000)), this.retentionMs];
    const reply = await backendCall('cleanup', () => this.client.eval(CLEANUP_SCRIPT, INDEXES, args));
    return Number(reply);
  }

  close(): Promise<void> {
    return backendCall('close', () => this.client.close());
  }
}

/** Same wording as the database driver. */
function leaseLostMessage(command: Command, sameToken: boolean): string {
  if (command.status === 'expired') return `command ${command.id} expired before it was acknowledged`;
  if (!sameToken) return `command ${command.id} is no longer held by this claim (it was handed out again)`;
  return `command ${command.id} is ${command.status}, not claimed`;
}

/** A reply from a script: the Redis time it ran at, then what it returns. */
function parseReply(reply: unknown): { now: number; rest: unknown[] } {
  if (!Array.isArray(reply) || reply.length === 0) throw new Error(`unexpected script reply ${typeof reply}`);
  const [now, ...rest] = reply;
  return { now: Number(now), rest };
}

/** A command hash as HGETALL gives it: field, value, field, value... */
class CommandHash {
  private readonly fields = new Map<string, string>();

  constructor(reply: unknown) {
    if (!Array.isArray(reply)) throw new Error('unexpected command reply');
    for (let i = 0; i + 1 < reply.length; i += 2) this.fields.set(String(reply[i]), String(reply[i + 1]));
  }

  get size(): number {
    return this.fields.size;
  }

  optional(name: string): string | null {
    return this.fields.get(name) ?? null;
  }

  string(name: string): string {
    const value = this.fields.get(name);
    if (value === undefined) throw new Error(`command hash has no ${name}`);
    return value;
  }

  time(name: string): number {
    const value = Number(this.string(name));
    if (!Number.isFinite(value)) throw new Error(`command hash has a bad ${name}`);
    return value;
  }

  optionalTime(name: string): number | null {
    return this.fields.has(name) ? this.time(name) : null;
  }
}

function parseCommandReply(reply: unknown): CommandHash {
  return new CommandHash(reply);
}

const STATUSES: readonly string[] = [
  'pending',
  'claimed',
  'done',
  'failed',
  'expired',
] satisfies CommandStatus[];

/** Open commands past their TTL (and, once claimed, past their lease) read as expired, as in SQL. */
function toCommand(hash: CommandHash, now: number): Command {
  const status = hash.string('status');
  const kind = hash.string('kind');
  if (!STATUSES.includes(status)) throw new Error(`command hash has status ${status}`);
  if (!(TARGET_KINDS as readonly string[]).includes(kind)) throw new Error(`command hash has kind ${kind}`);
  const expiresAt = hash.time('expiresAt');
  const leaseUntil = hash.optionalTime('leaseUntil');
  const overdue =
    (status === 'pending' || status === 'claimed') &&
    expiresAt <= now &&
    (status === 'pending' || (leaseUntil ?? 0) <= now);
  const finishedAt = hash.optionalTime('finishedAt');
  const result = hash.optional('result');
  return {
    id: hash.string('id'),
    target: { kind: kind as TargetKind, id: hash.string('target') },
    type: hash.string('type'),
    args: JSON.parse(hash.string('args')) as Record<string, unknown>,
    status: overdue ? 'expired' : (status as CommandStatus),
    result: result === null ? null : (JSON.parse(result) as unknown),
    error: hash.optional('error'),
    createdBy: hash.optional('createdBy'),
    createdAt: new Date(hash.time('createdAt')),
    expiresAt: new Date(expiresAt),
    claimedBy: hash.optional('claimedBy'),
    claimedAt: dateOrNull(hash.optionalTime('claimedAt')),
    leaseUntil: overdue ? null : dateOrNull(leaseUntil),
    deliveries: Number(hash.optional('deliveries') ?? 0),
    finishedAt: overdue ? new Date(expiresAt) : dateOrNull(finishedAt),
  };
}

function dateOrNull(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
