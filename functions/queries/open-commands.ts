import { type SQL, sql } from 'drizzle-orm';
import type { CommandTarget } from '../../core/bus/command-bus';
import type { StatementDatabase } from '../../core/db/database';
import { isoText, query } from './sql';

export interface OpenCommandRow {
  id: string;
  target_kind: CommandTarget['kind'];
  target_id: string;
  type: string;
  args: Record<string, unknown> | null;
  status: 'pending' | 'claimed';
  created_at: string;
  seq: number | string;
}

// More would mean thousands of requests queued for a few targets with no host claiming them.
const MAX_OPEN = 1000;

/**
 * The database bus's open commands (pending or claimed, not past their TTL or lease) for a set of
 * targets, oldest first: a nested loop over the targets into the partial index
 * watchtower_commands_open (target_kind, target_id, seq) that only holds open commands.
 */
export async function openCommands(
  db: StatementDatabase,
  targets: readonly CommandTarget[],
): Promise<OpenCommandRow[]> {
  if (targets.length === 0) return [];
  const list = JSON.stringify(targets.map((target) => ({ kind: target.kind, id: target.id })));
  return query<OpenCommandRow>(
    db,
    openCommandsSql(sql`select kind, id from jsonb_to_recordset(${list}::jsonb) as t(kind text, id text)`),
  );
}

/** Open commands of the targets a subquery yields as (kind, id) rows; `seq` is their send order. */
export function openCommandsSql(targets: SQL): SQL {
  return sql`select c.id, c.target_kind, c.target_id, c.type, c.args, c.status,
                    ${isoText(sql`c.created_at`)} as created_at, c.seq
             from (select distinct t.kind, t.id from (${targets}) as t(kind, id)) t
             join watchtower_commands c on c.target_kind = t.kind and c.target_id = t.id
             where c.status in ('pending', 'claimed')
               and not (c.expires_at <= now() and (c.status = 'pending' or c.lease_until <= now()))
             order by c.seq limit ${MAX_OPEN}`;
}
