/**
 * `npm test`: every suite, then one closing line with the totals.
 *
 * 1. Node: contract suites, local stack, worker-host, recorder, browser (vitest, Node pool).
 * 2. workerd: the same contract suite and the Cloudflare Worker's routes inside workerd.
 *
 * One after the other. Run side by side on two cores, the workerd suite took 236 s instead of 82 s
 * and slowed the Node suites' files as much as it overlapped them: the whole run took 837 s side by
 * side and 848 s one after the other, on the same tests, so the simpler order stays.
 * Each suite has its own test database (the workerd one `<test database>_workerd`), so neither
 * counts the other's rows.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { testEnv } from '../test/setup/test-env';
import { suffixedDatabaseUrl } from '../test/support/fresh-database';
import { ensurePostgres, ensureRedis } from './local-only/services';

interface VitestReport {
  testResults?: Array<{
    name: string;
    /** A file that failed to load or whose hooks failed has a message and no failed assertion. */
    message?: string;
    status?: string;
    assertionResults?: Array<{ fullName: string; status: string; failureMessages?: string[] }>;
  }>;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTests: number;
  success: boolean;
}

interface Suite {
  name: string;
  config: string;
  /** The suite's own test database, so that neither counts the other's rows. */
  database?: string;
}

const suites: Suite[] = [
  { name: 'node', config: 'vitest.node.config.mts' },
  { name: 'workerd', config: 'vitest.workers.config.mts', database: 'workerd' },
];

interface SuiteResult {
  passed: number;
  failed: number;
  ok: boolean;
  /** One line per failed test (or failed file): where, and the first line of why. */
  failures: string[];
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
  const results: SuiteResult[] = [];
  for (const suite of suites) results.push(await runSuite(suite, reports, extra));
  const passed = results.reduce((sum, result) => sum + result.passed, 0);
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  let exitCode = results.every((result) => result.ok) ? 0 : 1;
  if (passed === 0 && exitCode === 0) {
    console.error('No test ran.');
    exitCode = 1;
  }
  // Repeated at the very end: a log cut to its last lines still says what failed.
  const failures = results.flatMap((result) => result.failures);
  if (failures.length > 0) console.log(`\nFailed:\n${failures.join('\n')}`);
  console.log(`\n${passed} passed, ${failed} failed (${seconds(started)} s)`);
  process.exit(exitCode);
}

async function runSuite(suite: Suite, reports: string, extra: string[]): Promise<SuiteResult> {
  const output = join(reports, `${suite.name}.json`);
  const title = `=== ${suite.name} suites (${suite.config}) ===`;
  console.log(`\n${title}\n`);
  const code = await run(
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
    suite.database
      ? { WATCHTOWER_TEST_DATABASE_URL: suffixedDatabaseUrl(testEnv.databaseUrl, suite.database) }
      : {},
  );
  let report: VitestReport | undefined;
  try {
    report = JSON.parse(readFileSync(output, 'utf8')) as VitestReport;
  } catch {
    report = undefined;
  }
  if (!report) {
    console.error(`The ${suite.name} suites wrote no report (exit code ${code}).`);
    return { passed: 0, failed: 0, ok: false, failures: [`${suite.name}: no report`] };
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    ok: code === 0 && report.success,
    failures: failuresOf(suite.name, report),
  };
}

function failuresOf(suite: string, report: VitestReport): string[] {
  const firstLine = (text: string | undefined) => (text ?? '').trim().split('\n')[0]?.slice(0, 300) ?? '';
  const lines: string[] = [];
  for (const file of report.testResults ?? []) {
    const where = relative(process.cwd(), file.name);
    const failed = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failed)
      lines.push(`  ${suite} ${where} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
    if (failed.length === 0 && file.status === 'failed')
      lines.push(`  ${suite} ${where}: ${firstLine(file.message)}`);
  }
  return lines;
}

function seconds(since: number): number {
  return Math.round((Date.now() - since) / 1000);
}

/** Runs a command with its output going straight through; resolves with its exit code. */
function run(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

void main();
