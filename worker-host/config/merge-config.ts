import type { WatchtowerConfig } from './config-schema';
import type { DatabaseSupervisors } from './database-supervisors';

export interface MergedConfig {
  config: WatchtowerConfig;
  /** Database supervisors left out because the file has one of the same name, or uses the name of a connection for another URL. */
  clashes: string[];
}

/**
 * The file's configuration plus the database's supervisors. The file wins every clash: a
 * supervisor of the same name, or a connection of the same name with another URL (the database
 * supervisor on it is left out), each named in `clashes`.
 */
export function mergeConfig(file: WatchtowerConfig, database: DatabaseSupervisors | undefined): MergedConfig {
  if (!database) return { config: file, clashes: [] };
  const clashes: string[] = [];
  const fileNames = new Set(file.supervisors.map((s) => s.name));
  const connections = { ...file.connections };
  const supervisors = [...file.supervisors];
  const supervisorProcessors = { ...file.supervisorProcessors };
  for (const supervisor of database.supervisors) {
    if (fileNames.has(supervisor.name)) {
      clashes.push(
        `supervisor ${supervisor.name} is in both the configuration file (${file.source}) and the database: the file's runs`,
      );
      continue;
    }
    const url = database.connections[supervisor.connection]?.url;
    const fileUrl = file.connections[supervisor.connection]?.url;
    if (!url) continue;
    if (fileUrl !== undefined && fileUrl !== url) {
      clashes.push(
        `supervisor ${supervisor.name}: its connection ${supervisor.connection} is also in the configuration file with another URL: not started`,
      );
      continue;
    }
    connections[supervisor.connection] = { url };
    supervisors.push(supervisor);
    supervisorProcessors[supervisor.name] = database.processors[supervisor.name] ?? {};
  }
  return { config: { ...file, connections, supervisors, supervisorProcessors }, clashes };
}

/** The module that runs a queue of a supervisor: its own (database) map first, then the file's. */
export function processorFor(config: WatchtowerConfig, supervisor: string, queue: string): string {
  const own = config.supervisorProcessors?.[supervisor];
  if (own) return own[queue] ?? own['*'] ?? '';
  return config.processors[queue] ?? config.processors['*'] ?? '';
}

/** Every processor module of the configuration, for compiling. */
export function allProcessors(config: WatchtowerConfig): string[] {
  const own = Object.values(config.supervisorProcessors ?? {}).flatMap((map) => Object.values(map));
  return [...new Set([...Object.values(config.processors), ...own])];
}
