import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { describeIssues } from '../../core/commands/command-types';
import { readConfigVersion } from '../../core/config/config-version';
import { processorPathProblem } from '../../core/config/supervisor-fields';
import { connectionSecretContext } from '../../core/crypto/reseal-connections';
import {
  CURRENT_KEY_VARIABLE,
  type KeyRing,
  loadKeyRing,
  openSecret,
  PREVIOUS_KEY_VARIABLE,
} from '../../core/crypto/sealed-secrets';
import type { StatementDatabase } from '../../core/db/database';
import { connections, supervisorConfigs } from '../../drizzle/schema';
import { type ConnectionConfig, type SupervisorConfig, supervisorSchema } from './config-schema';

/**
 * The supervisors kept in the database (watchtower_supervisor_configs) that this host runs: those
 * whose label selector its labels satisfy, turned into what a configuration file would say
 * (connections, supervisors, processors). A configuration this host cannot run safely is left out
 * with its reason, never half-run: a processor outside the processors directory (after realpath,
 * so a symlink cannot lead out), a connection kind hosts do not run yet, a secret that does not
 * open with this host's WATCHTOWER_ENCRYPTION_KEY.
 */

export interface DatabaseSupervisors {
  /** The configuration version these were read at (watchtower_config_version). */
  version: number;
  connections: Record<string, ConnectionConfig>;
  supervisors: SupervisorConfig[];
  /** Supervisor → queue (or `*`) → absolute module path inside the processors directory. */
  processors: Record<string, Record<string, string>>;
  /** Configurations matched but not run, with why. */
  refused: { name: string; reason: string }[];
}

export interface DatabaseSupervisorOptions {
  labels: readonly string[];
  /** The processors directory, already resolved by realpath (see `checkProcessorsDir`). */
  processorsDir: string;
  env: NodeJS.ProcessEnv;
}

/** `--processors-dir` resolved by realpath; throws a message naming the problem. */
export async function checkProcessorsDir(path: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new Error(`--processors-dir ${path} does not exist`);
  }
  if (!(await stat(real)).isDirectory()) throw new Error(`--processors-dir ${path} is not a directory`);
  return real;
}

type Row = Awaited<ReturnType<typeof selectRows>>[number];

function selectRows(db: StatementDatabase, labels: readonly string[]) {
  return (
    db
      .select({ config: supervisorConfigs, connection: connections })
      .from(supervisorConfigs)
      .innerJoin(connections, eq(connections.id, supervisorConfigs.connectionId))
      // Labels never hold a comma (core/config/supervisor-fields.ts), so the list travels as one text.
      .where(sql`${supervisorConfigs.labels} <@ string_to_array(${labels.join(',')}, ',')`)
      .orderBy(supervisorConfigs.name)
  );
}

export async function loadDatabaseSupervisors(
  db: StatementDatabase,
  options: DatabaseSupervisorOptions,
): Promise<DatabaseSupervisors> {
  // Read first: a change committed meanwhile moves the version past this one, so it is loaded again.
  const version = await readConfigVersion(db);
  const rows = await selectRows(db, options.labels);
  const result: DatabaseSupervisors = {
    version,
    connections: {},
    supervisors: [],
    processors: {},
    refused: [],
  };
  let ring: Promise<KeyRing | null> | undefined;
  const keyRing = () => {
    ring ??= loadKeyRing({
      current: options.env[CURRENT_KEY_VARIABLE],
      previous: options.env[PREVIOUS_KEY_VARIABLE],
    });
    return ring;
  };
  for (const row of rows) {
    try {
      const url = await connectionUrl(row.connection, keyRing);
      const processors = await processorPaths(row.config.processors, options.processorsDir);
      const parsed = supervisorSchema.safeParse({
        name: row.config.name,
        connection: row.connection.name,
        queues: row.config.queues,
        minProcesses: row.config.minProcesses,
        maxProcesses: row.config.maxProcesses,
        balance: row.config.balance,
        concurrency: row.config.concurrency,
        tries: row.config.tries,
        timeout: row.config.timeout,
        memory: row.config.memory,
        sleep: row.config.sleep,
        rest: row.config.rest,
      });
      if (!parsed.success) throw new Error(describeIssues(parsed.error.issues));
      for (const queue of parsed.data.queues) {
        if (!processors[queue] && !processors['*']) throw new Error(`queue "${queue}" has no processor`);
      }
      const known = result.connections[row.connection.name];
      if (known && known.url !== url)
        throw new Error(`connection ${row.connection.name} changed while loading`);
      result.connections[row.connection.name] = { url };
      result.supervisors.push(parsed.data);
      result.processors[parsed.data.name] = processors;
    } catch (error) {
      result.refused.push({ name: row.config.name, reason: (error as Error).message });
    }
  }
  return result;
}

/** The URL the worker processes connect with, secrets opened with this host's key. */
async function connectionUrl(
  connection: Row['connection'],
  keyRing: () => Promise<KeyRing | null>,
): Promise<string> {
  const open = async (sealed: string, field: 'password' | 'url') => {
    const ring = await keyRing();
    if (!ring) {
      throw new Error(
        `connection ${connection.name} has a sealed ${field}, and ${CURRENT_KEY_VARIABLE} is not set on this host`,
      );
    }
    try {
      return await openSecret(ring, sealed, connectionSecretContext(connection.id, field));
    } catch (error) {
      throw new Error(
        `connection ${connection.name}: its ${field} does not open: ${(error as Error).message}`,
      );
    }
  };
  if (connection.kind === 'postgres') {
    if (!connection.urlSealed) throw new Error(`connection ${connection.name} has no URL`);
    return open(connection.urlSealed, 'url');
  }
  if (connection.kind !== 'redis') {
    throw new Error(
      `connection ${connection.name} is a ${connection.kind} connection: hosts run database supervisors on redis and postgres connections only, for now`,
    );
  }
  if (connection.keyPrefix !== null && connection.keyPrefix !== 'bull') {
    throw new Error(
      `connection ${connection.name} sets key prefix ${connection.keyPrefix}: worker processes use BullMQ's default prefix only, for now`,
    );
  }
  const password = connection.passwordSealed ? await open(connection.passwordSealed, 'password') : undefined;
  const auth =
    password !== undefined || connection.username
      ? `${encodeURIComponent(connection.username ?? '')}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@`
      : '';
  const host = connection.host?.includes(':') ? `[${connection.host}]` : connection.host;
  return `${connection.tls ? 'rediss' : 'redis'}://${auth}${host}:${connection.port ?? 6379}/${connection.db ?? 0}`;
}

/**
 * Each processor's absolute path, refused unless it exists inside the processors directory once
 * every symlink is resolved: a dashboard admin can never make a host run code its owner did not
 * install.
 */
async function processorPaths(
  processors: Record<string, string>,
  processorsDir: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [queue, path] of Object.entries(processors)) {
    const problem = processorPathProblem(path);
    if (problem) throw new Error(`processor ${JSON.stringify(path)} of ${queue}: ${problem}`);
    let real: string;
    try {
      real = await realpath(resolve(processorsDir, path));
    } catch {
      throw new Error(
        `processor ${path} of ${queue} does not exist in the processors directory ${processorsDir}`,
      );
    }
    if (!real.startsWith(processorsDir + sep)) {
      throw new Error(
        `processor ${path} of ${queue} resolves to ${real}, outside the processors directory ${processorsDir}: refused`,
      );
    }
    out[queue] = real;
  }
  return out;
}
