import { type SQL, sql } from 'drizzle-orm';
import { rowsOf, type StatementDatabase } from '../db/database';
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
  type TargetKind,
} from './command-bus';
import { COMMANDS_CHANNEL, type NotificationListener } from './notification-listener';
import { parseTarget } from './target';
import {
  isCommandId,
  serializeValue,
  validateClaim,
  validateId,
  validateKey,
  validateOutcome,
  validateSend,
  validateToken,
  validateTtl,
} from './validation';

interface CommandRow {
  id: string;
  target_kind: TargetKind;
  target_id: string;
  type: string;
  args: Record<string, unknown>;
  status: CommandStatus;
  result: unknown;
  error: string | null;
  created_by: string | null;
  created_at: Date | string;
  expires_at: Date | string;
  claimed_by: string | null;
  claimed_at: Date | string | null;
  claim_token: string | null;
  lease_until: Date | string | null;
  deliveries: number;
  finished_at: Date | string | null;
  overdue?: boolean;
  changed?: boolean;
}

const COLUMNS = sql.raw(
  'id, target_kind, target_id, type, args, status, result, error, created_by, created_at, expires_at, ' +
    'claimed_by, claimed_at, claim_token, lease_until, deliveries, finished_at',
);

// Open commands past their TTL (and, once claimed, past their lease) are expired in every read.
const OVERDUE = sql.raw(
  "(status in ('pending', 'claimed') and expires_at <= now() and (status = 'pending' or lease_until <= now()))",
);

/**
 * The command bus on Postgres rows, through drizzle: node-postgres in a worker-host, Neon's
 * serverless driver in the Cloudflare Worker. Every operation is one statement (one round trip);
 * the claim is a plpgsql function (migrations 0002, 0014) so it can lock its targets first.
 */
export class DatabaseCommandBus implements CommandBus {
  listen?: (onCommand: (target: CommandTarget) => void) => Promise<() => Promise<void>>;

  constructor(
    private readonly db: StatementDatabase,
    options: { listener?: NotificationListener; close?: () => Promise<void> } = {},
  ) {
    this.closeBackend = options.close ?? (async () => undefined);
    const listener = options.listener;
    if (listener) {
      this.listen = (onCommand) =>
        backendCall('listen', () =>
          listener.listen(COMMANDS_CHANNEL, (payload) => {
            const target = parseTarget(payload);
            if (target) onCommand(target);
          }),
        );
    }
  }

  private readonly closeBackend: () => Promise<void>;

  async put(key: string, value: unknown, ttl: number = DEFAULT_TTL_SECONDS): Promise<void> {
    const validKey = validateKey(key);
    const json = serializeValue(value);
    const seconds = validateTtl(ttl);
    await this.run(
      'put',
      sql`insert into watchtower_bus_entries (key, value, expires_at)
          values (${validKey}, ${json}::jsonb, now() + make_interval(secs => ${seconds}))
          on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at`,
    );
  }

  async get<T = unknown>(key: string): Promise<T | null> {
    const validKey = validateKey(key);
    const rows = await this.run<{ value: T }>(
      'get',
      sql`select value from watchtower_bus_entries where key = ${validKey} and expires_at > now()`,
    );
    return rows[0] ? rows[0].value : null;
  }

  async forget(key: string): Promise<void> {
    const validKey = validateKey(key);
    await this.run('forget', sql`delete from watchtower_bus_entries where key = ${validKey}`);
  }

  async send(input: SendCommandInput): Promise<Command> {
    const command = validateSend(input);
    const id = command.id ?? crypto.randomUUID();
    // One statement: insert (or find the command already sent with this id) and notify listeners.
    // NOTIFY is delivered at commit, so a woken host always finds the row.
    const rows = await this.run<CommandRow>(
      'send',
      sql`with inserted as (
            insert into watchtower_commands (id, target_kind, target_id, type, args, created_by, expires_at)
            values (${id}, ${command.target.kind}, ${command.target.id}, ${command.type}, ${command.argsJson}::jsonb,
                    ${command.createdBy}, now() + make_interval(secs => ${command.ttl}))
            on conflict (id) do nothing
            returning ${COLUMNS}, pg_notify(${COMMANDS_CHANNEL}, target_kind || ':' || target_id)::text as notified
          )
          select ${COLUMNS}, false as overdue from inserted
          union all
          select ${COLUMNS}, ${OVERDUE} as overdue from watchtower_commands
          where id = ${id} and not exists (select 1 from inserted)`,
    );
    const row = rows[0];
    if (!row) throw new BusError('unavailable', 'command bus: send stored nothing');
    return toCommand(row);
  }

  async claim(request: ClaimRequest): Promise<ClaimedCommand[]> {
    const claim = validateClaim(request);
    if (claim.targets.length === 0) return [];
    const targets = JSON.stringify(claim.targets);
    const rows = await this.run<CommandRow & { seq: number | string }>(
      'claim',
      sql`select ${COLUMNS}, seq from watchtower_claim_commands(${targets}::jsonb, ${claim.claimer},
            ${claim.leaseSeconds}::double precision, ${claim.limit}::integer, ${claim.perTarget}::integer)`,
    );
    // RETURNING gives no order; hand commands out in the order they were sent.
    return rows
      .sort((a, b) => Number(a.seq) - Number(b.seq))
      .map((row) => ({ ...toCommand(row), claimToken: String(row.claim_token) }));
  }

  async acknowledge(id: string, claimToken: string, outcome: CommandOutcome): Promise<Command> {
    const validId = validateId(id);
    const token = validateToken(claimToken);
    const valid = validateOutcome(outcome);
    const rows = await this.run<CommandRow>(
      'acknowledge',
      sql`with updated as (
            update watchtower_commands
            set status = ${valid.status}, result = ${valid.resultJson}::jsonb, error = ${valid.error},
                finished_at = now(), lease_until = null
            where id = ${validId} and status = 'claimed' and claim_token = ${token}
            returning ${COLUMNS}
          )
          select ${COLUMNS}, true as changed, false as overdue from updated
          union all
          select ${COLUMNS}, false as changed, ${OVERDUE} as overdue from watchtower_commands
          where id = ${validId} and not exists (select 1 from updated)`,
    );
    const row = rows[0];
    if (!row) throw new BusError('not_found', `command ${validId} does not exist`);
    if (row.changed) return toCommand(row);
    const repeated = (row.status === 'done' || row.status === 'failed') && row.claim_token === token;
    if (repeated) return toCommand(row);
    throw new BusError('lease_lost', leaseLostMessage(toCommand(row), token === row.claim_token));
  }

  async extendLease(id: string, claimToken: string, leaseSeconds: number): Promise<boolean> {
    const validId = validateId(id);
    const token = validateToken(claimToken);
    if (typeof leaseSeconds !== 'number' || !(leaseSeconds > 0) || leaseSeconds > 3600) {
      throw new BusError('invalid_claim', 'leaseSeconds must be above 0 and at most 3600');
    }
    const rows = await this.run<{ id: string }>(
      'extendLease',
      sql`update watchtower_commands set lease_until = now() + make_interval(secs => ${leaseSeconds}::double precision)
          where id = ${validId} and status = 'claimed' and claim_token = ${token}
            and (expires_at > now() or lease_until > now())
          returning id`,
    );
    return rows.length > 0;
  }

  async find(id: string): Promise<Command | null> {
    if (!isCommandId(id)) return null;
    const validId = id.toLowerCase();
    const rows = await this.run<CommandRow>(
      'find',
      sql`select ${COLUMNS}, ${OVERDUE} as overdue from watchtower_commands where id = ${validId}`,
    );
    return rows[0] ? toCommand(rows[0]) : null;
  }

  async cleanup(options: { limit?: number; retentionSeconds?: number } = {}): Promise<number> {
    const limit = Math.max(1, Math.min(options.limit ?? 1000, 10_000));
    const retention = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    // Three bounded batches in one statement; the partial indexes keep each a short index scan.
    const rows = await this.run<{ touched: number }>(
      'cleanup',
      sql`with overdue as (
            update watchtower_commands set status = 'expired', finished_at = now(), lease_until = null
            where id in (select id from watchtower_commands
                         where status in ('pending', 'claimed') and expires_at <= now()
                           and (status = 'pending' or lease_until <= now())
                         limit ${limit})
            returning 1
          ), finished as (
            delete from watchtower_commands
            where id in (select id from watchtower_commands
                         where finished_at is not null
                           and finished_at < now() - make_interval(secs => ${retention}::double precision)
                         limit ${limit})
            returning 1
          ), entries as (
            delete from watchtower_bus_entries
            where key in (select key from watchtower_bus_entries where expires_at <= now() limit ${limit})
            returning 1
          )
          select ((select count(*) from overdue) + (select count(*) from finished)
                  + (select count(*) from entries))::int as touched`,
    );
    return Number(rows[0]?.touched ?? 0);
  }

  close(): Promise<void> {
    return this.closeBackend();
  }

  private run<Row>(what: string, query: SQL): Promise<Row[]> {
    return backendCall(what, async () => rowsOf<Row>(await this.db.execute(query)));
  }
}

function leaseLostMessage(command: Command, sameToken: boolean): string {
  if (command.status === 'expired') return `command ${command.id} expired before it was acknowledged`;
  if (!sameToken) return `command ${command.id} is no longer held by this claim (it was handed out again)`;
  return `command ${command.id} is ${command.status}, not claimed`;
}

function toDate(value: Date | string): Date;
function toDate(value: Date | string | null): Date | null;
function toDate(value: Date | string | null): Date | null {
  if (value === null) return null;
  return value instanceof Date ? value : new Date(value);
}

function toCommand(row: CommandRow): Command {
  const overdue = row.overdue === true;
  const expiresAt = toDate(row.expires_at);
  return {
    id: row.id,
    target: { kind: row.target_kind, id: row.target_id },
    type: row.type,
    args: row.args ?? {},
    status: overdue ? 'expired' : row.status,
    result: row.result ?? null,
    error: row.error,
    createdBy: row.created_by,
    createdAt: toDate(row.created_at),
    expiresAt,
    claimedBy: row.claimed_by,
    claimedAt: toDate(row.claimed_at),
    leaseUntil: overdue ? null : toDate(row.lease_until),
    deliveries: Number(row.deliveries),
    finishedAt: overdue ? expiresAt : toDate(row.finished_at),
  };
}
