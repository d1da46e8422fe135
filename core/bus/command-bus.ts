/**
 * The command bus: the one way the control plane reaches worker-hosts.
 *
 * The first three methods are the seed's key/value contract, kept word for word. The rest are
 * Watchtower's commands on top of it: addressed, ordered per target, delivered at least once under
 * a claim lease, bounded by a TTL, and answered with a status and a result.
 */

export type CommandStatus = 'pending' | 'claimed' | 'done' | 'failed' | 'expired';

export const TARGET_KINDS = ['worker', 'supervisor', 'host', 'connection'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/**
 * Who a command is for. `connection` means "any host that can reach connection `id`"; a supervisor
 * is addressed by its name (hosts that run a supervisor of that name compete for its commands).
 */
export interface CommandTarget {
  kind: TargetKind;
  id: string;
}

export interface Command {
  id: string;
  target: CommandTarget;
  type: string;
  args: Record<string, unknown>;
  status: CommandStatus;
  result: unknown;
  error: string | null;
  createdBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  claimedBy: string | null;
  claimedAt: Date | null;
  leaseUntil: Date | null;
  /** How many times the command was handed out; above 1 means it came back after a lease ended. */
  deliveries: number;
  finishedAt: Date | null;
}

/** A command as a claim hands it out: the token proves the claim when acknowledging. */
export interface ClaimedCommand extends Command {
  claimToken: string;
}

export interface SendCommandInput {
  target: CommandTarget;
  type: string;
  args?: Record<string, unknown>;
  /** Seconds the command may wait to be claimed; after that it is `expired`. Default 300. */
  ttl?: number;
  /** A caller-chosen uuid makes `send` idempotent: sending the same id twice stores one command. */
  id?: string;
  createdBy?: string;
}

export interface ClaimRequest {
  /** The claiming host's id; recorded on the command. */
  claimer: string;
  /** Every target the host answers for: itself, its workers, its supervisors, its connections. */
  targets: CommandTarget[];
  /** Seconds before an unacknowledged claim lapses and the command is handed out again. Default 30. */
  leaseSeconds?: number;
  /** Most commands handed out by one claim. Default 100. */
  limit?: number;
  /**
   * Most commands of any one target handed out by one claim. Default: no limit but `limit`. A host
   * that runs a target's commands one after another asks for 1, so a command is claimed only when
   * it can start: one sent behind a long command stays pending (and expires at its TTL) instead of
   * waiting inside a host under a lease that may lapse, and be handed to a second host, meanwhile.
   */
  perTarget?: number;
}

export type CommandOutcome = { ok: true; result?: unknown } | { ok: false; error: string; result?: unknown };

export interface CommandBus {
  /** Stores `value` under `key` for `ttl` seconds, replacing what was there. */
  put(key: string, value: unknown, ttl?: number): Promise<void>;
  /** The value under `key`, or null when missing or expired. */
  get<T = unknown>(key: string): Promise<T | null>;
  forget(key: string): Promise<void>;

  /** Stores a new `pending` command and wakes the hosts listening for it. */
  send(input: SendCommandInput): Promise<Command>;
  /**
   * One round trip: hands out, in order, the claimable commands of every target in the request
   * (at most `perTarget` of each). A target with a command under an unexpired lease hands out
   * nothing, which keeps order when a command comes back. Pending commands past their TTL become
   * `expired` and are never handed out.
   */
  claim(request: ClaimRequest): Promise<ClaimedCommand[]>;
  /**
   * Records the outcome of a claimed command. Repeating an acknowledgement with the same token is a
   * no-op that returns the stored command. Throws `BusError('lease_lost')` when the claim was lost
   * (the lease ended and the command went elsewhere, or it expired).
   */
  acknowledge(id: string, claimToken: string, outcome: CommandOutcome): Promise<Command>;
  /** Extends a held lease, for commands that run long (bulk retries). False when the claim was lost. */
  extendLease(id: string, claimToken: string, leaseSeconds: number): Promise<boolean>;
  /** The command with its current status (a pending command past its TTL reads as `expired`). */
  find(id: string): Promise<Command | null>;
  /**
   * Bounded housekeeping: marks overdue commands expired, deletes finished commands older than the
   * retention and expired key/value entries, at most `limit` rows of each. Returns rows touched.
   */
  cleanup(options?: { limit?: number; retentionSeconds?: number }): Promise<number>;
  /**
   * Push wake-ups where the driver's client can receive them (Postgres LISTEN, Redis pub/sub). The
   * handler gets the target of each new command; polling stays the fallback. Undefined where the
   * runtime cannot listen (inside a Cloudflare Worker).
   */
  listen?(onCommand: (target: CommandTarget) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const DEFAULT_TTL_SECONDS = 300;
export const DEFAULT_LEASE_SECONDS = 30;
export const DEFAULT_CLAIM_LIMIT = 100;
export const DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600;
