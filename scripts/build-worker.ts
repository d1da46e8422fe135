import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { buildWeb } from './build-web';

/**
 * `npm run build:worker`: what `wrangler deploy` would upload, built offline. The dashboard is
 * built first (web/dist, the Worker's static assets), then `wrangler deploy --dry-run` bundles the
 * Worker into .build/worker, and the sizes are printed: each file's bytes and gzip bytes, the
 * total, and the static assets' total. It exits 1 when the Worker passes its gzip budget, so
 * `npm run deploy` (which runs this first) stops before uploading a Worker Cloudflare would refuse.
 *
 * The size code lives here once; test/build/worker-bundle.test.ts imports it.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
export const defaultWorkerOutdir = join(root, '.build/worker');
const assetsDir = join(root, 'web/dist');

/**
 * Cloudflare refuses a Worker whose compressed upload passes the plan's limit (3 MB on the Free
 * plan today, 10 MB on Paid; the Free plan's was 1 MB until late 2024). Holding the bundle to 1 MiB
 * keeps it deployable on every plan, with room to grow, and catches a dependency pulled in by
 * mistake long before the limit does.
 */
export const WORKER_GZIP_BUDGET = 1024 * 1024;

export interface FileSize {
  /** Path relative to the folder measured. */
  file: string;
  bytes: number;
  gzip: number;
}

export interface SizeTotals {
  files: FileSize[];
  bytes: number;
  gzip: number;
}

/** Bytes and gzip bytes (node:zlib, default level) of every file under `dir` that `keep` accepts. */
export function measureFiles(dir: string, keep: (file: string) => boolean = () => true): SizeTotals {
  const files: FileSize[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory() || !keep(entry)) continue;
    const content = readFileSync(path);
    files.push({ file: relative(dir, path), bytes: content.length, gzip: gzipSync(content).length });
  }
  return {
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    gzip: files.reduce((sum, f) => sum + f.gzip, 0),
  };
}

/**
 * The Worker's upload: the modules wrangler wrote. Source maps are left out (wrangler uploads them
 * only with `upload_source_maps`, and they do not count towards the limit), and so is the README
 * wrangler writes into the folder.
 */
export function workerBundleSizes(outdir = defaultWorkerOutdir): SizeTotals {
  return measureFiles(outdir, (file) => !file.endsWith('.map') && file !== 'README.md');
}

/** The dashboard's static assets, served by Cloudflare's asset router (not part of the Worker's size). */
export function assetSizes(dir = assetsDir): SizeTotals {
  return measureFiles(dir);
}

/** `wrangler deploy --dry-run --outdir <outdir>`: bundles offline, uploads nothing. */
export async function bundleWorker(outdir = defaultWorkerOutdir): Promise<string> {
  await promisify(execFile)(
    join(root, 'node_modules/.bin/wrangler'),
    ['deploy', '--dry-run', '--outdir', outdir],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, maxBuffer: 16 * 1024 * 1024 },
  );
  return outdir;
}

/** The dashboard, then the Worker bundle; returns the bundle's folder. */
export async function buildWorker(outdir = defaultWorkerOutdir): Promise<string> {
  await buildWeb();
  return bundleWorker(outdir);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export function sizeReport(worker: SizeTotals, assets: SizeTotals): string {
  const width = Math.max(...worker.files.map((f) => f.file.length), 'total'.length);
  const line = (name: string, bytes: number, gzip: number) =>
    `  ${name.padEnd(width)}  ${kib(bytes).padStart(12)}  ${kib(gzip).padStart(12)} gzip`;
  return [
    'Cloudflare Worker bundle:',
    ...worker.files.map((f) => line(f.file, f.bytes, f.gzip)),
    line('total', worker.bytes, worker.gzip),
    `  gzip budget ${kib(WORKER_GZIP_BUDGET)}: ${((worker.gzip / WORKER_GZIP_BUDGET) * 100).toFixed(0)}% used`,
    `Static assets (web/dist, ${assets.files.length} files): ${kib(assets.bytes)}, ${kib(assets.gzip)} gzip`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildWorker().then(
    (outdir) => {
      const worker = workerBundleSizes(outdir);
      console.log(`Built the Cloudflare Worker into ${relative(process.cwd(), outdir) || outdir}`);
      console.log(sizeReport(worker, assetSizes()));
      if (worker.gzip > WORKER_GZIP_BUDGET) {
        console.error(
          `The Worker is ${kib(worker.gzip)} gzip, past its budget of ${kib(WORKER_GZIP_BUDGET)}: ` +
            'look for a dependency bundled by mistake before deploying.',
        );
        process.exit(1);
      }
    },
    (error: unknown) => {
      const stderr = (error as { stderr?: string }).stderr;
      console.error(
        'Building the Cloudflare Worker failed:',
        stderr || (error instanceof Error ? error.message : error),
      );
      process.exit(1);
    },
  );
}
