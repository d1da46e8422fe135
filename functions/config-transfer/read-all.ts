import type { StatementDatabase } from '../../core/db/database';
import { type ConnectionRow, listConnections } from '../queries/connections';
import { listSupervisorConfigs } from '../queries/supervisor-configs';
import type { SupervisorConfigView } from '../schemas/supervisor-configs';

/**
 * Every connection and every supervisor configuration, by name, through the list routes' own
 * queries page by page (no statement reads an unbounded number of rows at once).
 */

const PAGE = 500;

async function allPages<T extends { name: string }>(
  list: (options: { after?: string | undefined; limit: number }) => Promise<T[]>,
): Promise<T[]> {
  const rows: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await list({ after, limit: PAGE });
    rows.push(...page);
    const last = page.at(-1);
    if (page.length < PAGE || !last) return rows;
    after = last.name;
  }
}

export function allConnections(db: StatementDatabase): Promise<ConnectionRow[]> {
  return allPages((options) => listConnections(db, options));
}

export function allSupervisorConfigs(db: StatementDatabase): Promise<SupervisorConfigView[]> {
  return allPages((options) => listSupervisorConfigs(db, options));
}
