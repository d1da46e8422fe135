/**
 * `npm test`: every suite, then one closing line with the totals.
 *
 * 1. Node: contract suites, local stack, worker-host, recorder, browser (vitest, Node pool).
 * 2. workerd: the same contract suite and the Cloudflare Worker's routes inside workerd.
 *
 * The two run side by side: the Node suites spend most of their time waiting on real processes
 * (hosts, worker processes, Chromium, wrangler), about one core's worth of two, and the workerd
 * suite is one more process. The Node suite prints as it goes; the workerd suite's output is kept
 * and printed in one piece when it ends, so the two never interleave line by line.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv } from '../test/setup/test-env';
import { suffixedDatabaseUrl } from '../test/support/fresh-database';
import { ensurePostgres, ensureRedis } from './local-only/services';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTests: number;
  success: boolean;
}

interface Suite {
  name: string;
  config: string;
  /** Printed live (true) or kept and printed in one piece when the suite ends. */
  live: boolean;
  /** The suite's own test database, so that neither counts the other's rows. */
  database?: string;
}

const suites: Suite[] = [
  { name: 'node', config: 'vitest.node.config.mts', live: true },
  { name: 'workerd', config: 'vitest.workers.config.mts', live: false, database: 'workerd' },
];

interface SuiteResult {
  passed: number;
  failed: number;
  ok: boolean;
}

async function main(): Promise<void> {
  const extra = process.argv.slice(2);
  try {
    await Promise.all([ensurePostgres(), ensureRedis()]);
  } catch (error) {
    console.error(`\n${(error as Error).message}\n`);
    process.exit(2);
  }
  const reports = join('.build', 'test-reports');
  mkdirSync(reports, { recursive: true });
  const started = Date.now();
  const results = await Promise.all(suites.map((suite) => runSuite(suite, reports, extra, started)));
  const passed = results.reduce((sum, result) => sum + result.passed, 0);
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  let exitCode = results.every((result) => result.ok) ? 0 : 1;
  if (passed === 0 && exitCode === 0) {
    console.error('No test ran.');
    exitCode = 1;
  }
  console.log(`\n${passed} passed, ${failed} failed (${seconds(started)} s)`);
  process.exit(exitCode);
}

async function runSuite(
  suite: Suite,
  reports: string,
  extra: string[],
  started: number,
): Promise<SuiteResult> {
  const output = join(reports, `${suite.name}.json`);
  const title = `=== ${suite.name} suites (${suite.config}) ===`;
  if (suite.live) console.log(`\n${title}\n`);
  const { code, text } = await run(
    'npx',
    [
      'vitest',
      'run',
      '--config',
      suite.config,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${output}`,
      ...extra,
    ],
    suite.live,
    suite.database
      ? { WATCHTOWER_TEST_DATABASE_URL: suffixedDatabaseUrl(testEnv.databaseUrl, suite.database) }
      : {},
  );
  if (!suite.live) process.stdout.write(`\n${title} (ended after ${seconds(started)} s)\n\n${text}\n`);
  let report: VitestReport | undefined;
  try {
    report = JSON.parse(readFileSync(output, 'utf8')) as VitestReport;
  } catch {
    report = undefined;
  }
  if (!report) {
    console.error(`The ${suite.name} suites wrote no report (exit code ${code}).`);
    return { passed: 0, failed: 0, ok: false };
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    ok: code === 0 && report.success,
  };
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 1000);
}

/** Runs a command; its output goes straight through (`live`) or is kept and returned. */
function run(
  command: string,
  args: string[],
  live: boolean,
  env: Record<string, string>,
): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: live ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(!live && { FORCE_COLOR: process.stdout.isTTY ? '1' : '0' }), ...env },
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), text: Buffer.concat(chunks).toString() }),
    );
  });
}

void main();
