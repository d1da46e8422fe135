import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeIssues } from '../../core/commands/command-types';
import { ConfigError } from './config-error';
import { configSchema, type WatchtowerConfig } from './config-schema';

export { ConfigError };

export const CONFIG_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.json'] as const;

export interface LoadConfigOptions {
  /** `--config`; falls back to WATCHTOWER_CONFIG, then to a configuration built from the environment. */
  path?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Where the configuration comes from: a file, or nothing (the environment's default supervisor). */
export function configPath(options: LoadConfigOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const path = options.path ?? (env.WATCHTOWER_CONFIG?.trim() || undefined);
  return path ? resolve(options.cwd ?? process.cwd(), path) : undefined;
}

/**
 * Reads and validates the configuration. Throws ConfigError at the first thing that makes it
 * unusable (a missing file, a module that throws, a wrong field), naming where.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<WatchtowerConfig> {
  const env = options.env ?? process.env;
  const path = configPath(options);
  if (!path) return validate(fromEnvironment(env), 'environment', options.cwd ?? process.cwd(), env);
  const raw = await readConfigFile(path);
  return validate(raw, path, dirname(path), env);
}

/** Validates a configuration object; relative processor paths are resolved from `baseDir`. */
export function validate(
  raw: unknown,
  source: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): WatchtowerConfig {
  const interpolated = interpolate(raw, env, []);
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    const where = source === 'environment' ? 'the configuration from the environment' : source;
    const lines = describeIssues(parsed.error.issues).split('; ');
    throw new ConfigError(`Invalid configuration in ${where}:\n  - ${lines.join('\n  - ')}`);
  }
  const config = parsed.data;
  const processors: Record<string, string> = {};
  for (const [queue, path] of Object.entries(config.processors)) {
    processors[queue] = isAbsolute(path) ? path : resolve(baseDir, path);
  }
  return { ...config, processors, source };
}

async function readConfigFile(path: string): Promise<unknown> {
  const extension = extname(path);
  if (!(CONFIG_EXTENSIONS as readonly string[]).includes(extension)) {
    throw new ConfigError(
      `Configuration file ${path} must end in ${CONFIG_EXTENSIONS.join(', ')}, not "${extension || '(none)'}"`,
    );
  }
  if (extension === '.json') {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`Cannot read configuration file ${path}: ${(error as Error).message}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError(`Configuration file ${path} is not valid JSON: ${(error as Error).message}`);
    }
  }
  let module: { default?: unknown };
  try {
    // tsx's scoped import loads TypeScript whether or not the process runs under tsx, and gives
    // each load its own namespace, so `host.reload` reads the file as it is now, not a cached copy.
    const { tsImport } = await import('tsx/esm/api');
    module = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(path)) {
      throw new ConfigError(`Configuration file ${path} does not exist`);
    }
    throw new ConfigError(`Cannot load configuration file ${path}: ${(error as Error).message}`);
  }
  let value = module.default;
  // A CommonJS module imported as ESM arrives as { default: module.exports }.
  if (value && typeof value === 'object' && 'default' in value && Object.keys(value).length === 1) {
    value = (value as { default: unknown }).default;
  }
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (value === undefined) {
    throw new ConfigError(`Configuration file ${path} has no default export (export default { ... })`);
  }
  return value;
}

/** Without a file: REDIS_URL and WATCHTOWER_QUEUES make one supervisor, WATCHTOWER_PROCESSOR runs its jobs. */
function fromEnvironment(env: NodeJS.ProcessEnv): unknown {
  const url = env.REDIS_URL?.trim();
  const queues = (env.WATCHTOWER_QUEUES ?? '')
    .split(',')
    .map((queue) => queue.trim())
    .filter(Boolean);
  const problems: string[] = [];
  if (!url)
    problems.push('REDIS_URL is not set (the Redis server of your queues, e.g. redis://127.0.0.1:6379)');
  if (queues.length === 0) problems.push('WATCHTOWER_QUEUES is not set (comma-separated queue names)');
  if (!env.WATCHTOWER_PROCESSOR?.trim()) {
    problems.push('WATCHTOWER_PROCESSOR is not set (the module whose default export runs a job)');
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `No configuration file (give --config or WATCHTOWER_CONFIG), and the environment does not describe one:\n  - ${problems.join('\n  - ')}`,
    );
  }
  const processes = env.WATCHTOWER_PROCESSES ? Number(env.WATCHTOWER_PROCESSES) : undefined;
  const passEnv = (env.WATCHTOWER_PASS_ENV ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return {
    connections: { default: { url } },
    supervisors: [
      {
        name: env.WATCHTOWER_SUPERVISOR?.trim() || 'default',
        connection: 'default',
        queues,
        ...(processes === undefined ? {} : { minProcesses: processes, maxProcesses: processes }),
        ...(passEnv.length === 0 ? {} : { passEnv }),
      },
    ],
    processors: { '*': env.WATCHTOWER_PROCESSOR?.trim() },
  };
}

/**
 * `${NAME}` in any string is replaced by the environment variable, so a JSON file can say
 * `"url": "${REDIS_URL}"` and keep secrets out of the file. A missing variable is an error.
 */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: Array<string | number>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
      const replacement = env[name];
      if (replacement === undefined) {
        throw new ConfigError(
          `Invalid configuration: ${path.join('.') || '(root)'}: environment variable ${name} is not set`,
        );
      }
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, [...path, index]));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolate(item, env, [...path, key]);
    return out;
  }
  return value;
}
