import { type ParseArgsConfig, parseArgs } from 'node:util';
import { logLine, printLine } from '../host/output';

/** A mistake on the command line or in the configuration: printed as is, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its errors turned into a UsageError that points at --help. */
export function parse<T extends Options>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}\nRun \`watchtower ${command} --help\` for its options.`,
    );
  }
}

/** A numeric option: a UsageError naming the option when it is not a number in range. */
export function numberOption(
  name: string,
  value: string | undefined,
  fallback: number,
  limits: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  const { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false } = limits;
  if (
    value.trim() === '' ||
    !Number.isFinite(number) ||
    number < min ||
    number > max ||
    (integer && !Number.isInteger(number))
  ) {
    throw new UsageError(
      `--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

/** DATABASE_URL, or a UsageError that says what it is for. */
export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.DATABASE_URL?.trim();
  if (!url) {
    throw new UsageError(
      "DATABASE_URL is not set: give Watchtower's Postgres database, e.g. postgres://user:password@host:5432/watchtower",
    );
  }
  return url;
}

/** A line on stdout; never throws, whatever became of stdout (host/output.ts). */
export function print(line = ''): void {
  printLine(line);
}

/** A line on stderr; never throws, whatever became of stderr (host/output.ts). */
export function printError(line: string): void {
  logLine(line);
}

export function ago(date: Date | string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - new Date(date).getTime()) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}
