import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect } from 'vitest';
import { rowsOf } from '../../../core/db/database';
import type { NeonDatabaseHandle } from '../../../core/db/neon-database';
import { bearer, type CreatedToken, call, createToken, unique } from './api';
import { openTestDatabase } from './database';

/**
 * What the alert route tests share: tokens of each role, a name prefix whose rows are removed
 * afterwards, and small readers of the database and the audit log.
 */

export interface Channel {
  id: string;
  name: string;
  kind: string;
  hasUrl: boolean;
  hasSecret: boolean;
  to: string[] | null;
}

export interface Rule {
  id: string;
  name: string;
  kind: string;
  scope: unknown;
  params: Record<string, number>;
  forEvaluations: number;
  renotifyMinutes: number;
  channelIds: string[];
  enabled: boolean;
  version: number;
}

export async function send(method: string, path: string, token: string, json?: unknown): Promise<Response> {
  return call(path, { method, headers: bearer(token), ...(json === undefined ? {} : { json }) });
}

export async function okJson<T>(response: Response, status: number): Promise<T> {
  expect(response.status, await response.clone().text()).toBe(status);
  return response.json<T>();
}

export interface AlertRoutesContext {
  database: NeonDatabaseHandle;
  admin: CreatedToken;
  operator: CreatedToken;
  viewer: CreatedToken;
  prefix: string;
  /** A Slack URL, a refused webhook URL and a secret: each holds a marker no answer may contain. */
  slackUrl: string;
  hookUrl: string;
  hookSecret: string;
  name(part: string): string;
  count(table: string, where?: ReturnType<typeof sql>): Promise<number>;
  auditRows(targetId: string): Promise<{ action: string; actor_id: string; details: unknown }[]>;
}

/** Registers the file's beforeAll and afterAll; the tokens and the database are there once it ran. */
export function useAlertRoutes(label: string): AlertRoutesContext {
  const prefix = unique(label);
  const context = {
    prefix,
    slackUrl: `https://hooks.slack.com/services/T000/B000/${prefix}-slack-credential`,
    hookUrl: 'http://127.0.0.1:1/refused-hook-path-credential',
    hookSecret: `${prefix}-signing-secret-value`,
    name: (part: string) => `${prefix}-${part}`,
    async count(table: string, where = sql`true`) {
      const rows = rowsOf<{ n: number | string }>(
        await context.database.db.execute(
          sql`select count(*) as n from ${sql.identifier(table)} where ${where}`,
        ),
      );
      return Number(rows[0]?.n ?? 0);
    },
    async auditRows(targetId: string) {
      return rowsOf<{ action: string; actor_id: string; details: unknown }>(
        await context.database.db.execute(
          sql`select action, actor_id, details from watchtower_audit_log where target_id = ${targetId} order by id`,
        ),
      );
    },
  } as AlertRoutesContext;

  beforeAll(async () => {
    context.database = openTestDatabase();
    [context.admin, context.operator, context.viewer] = await Promise.all([
      createToken('admin'),
      createToken('operator'),
      createToken('viewer'),
    ]);
  });

  afterAll(async () => {
    const db = context.database.db;
    const like = `${prefix}%`;
    await db.execute(sql`delete from watchtower_alert_silences where reason like ${like}`);
    await db.execute(sql`delete from watchtower_alert_rules where name like ${like}`);
    await db.execute(
      sql`delete from watchtower_alert_deliveries where channel_id in (select id from watchtower_alert_channels where name like ${like})`,
    );
    await db.execute(sql`delete from watchtower_alert_channels where name like ${like}`);
    await context.database.close();
  });

  return context;
}
