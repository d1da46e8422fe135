/**
 * `npm test`: every suite, one after the other (two cores; the workerd suite and the Node suites
 * would only fight over them), then one closing line with the totals.
 *
 * 1. Node: contract suites, local stack, worker-host, recorder (vitest, Node pool).
 * 2. workerd: the same contract suite and the Cloudflare Worker's routes inside workerd.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePostgres, ensureRedis } from './local-only/services';

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTests: number;
  success: boolean;
}

const suites = [
  { name: 'node', config: 'vitest.node.config.mts' },
  { name: 'workerd', config: 'vitest.workers.config.mts' },
];

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
  let passed = 0;
  let failed = 0;
  let exitCode = 0;
  for (const suite of suites) {
    const output = join(reports, `${suite.name}.json`);
    console.log(`\n=== ${suite.name} suites (${suite.config}) ===\n`);
    const code = await run('npx', [
      'vitest',
      'run',
      '--config',
      suite.config,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${output}`,
      ...extra,
    ]);
    let report: VitestReport | undefined;
    try {
      report = JSON.parse(readFileSync(output, 'utf8')) as VitestReport;
    } catch {
      report = undefined;
    }
    if (!report) {
      console.error(`The ${suite.name} suites wrote no report (exit code ${code}).`);
      exitCode = 1;
      continue;
    }
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    if (code !== 0 || !report.success) exitCode = 1;
  }
  if (passed === 0 && exitCode === 0) {
    console.error('No test ran.');
    exitCode = 1;
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  process.exit(exitCode);
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

void main();
