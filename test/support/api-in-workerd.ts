/**
 * LOCAL TEST TOOLING: the Cloudflare Worker as `wrangler deploy` would ship it, run in workerd
 * through Miniflare, for end-to-end tests from Node.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Miniflare } from 'miniflare';
import { bundleWorker } from '../../scripts/build-worker';
import { type NeonHttp, startNeonHttp } from '../../scripts/local-only/neon-http';
import { buildWebInChild } from './web-build';

const repoRoot = resolve(import.meta.dirname, '../..');

export interface WorkerBundle {
  scriptPath: string;
  compatibilityDate: string;
  cleanup(): void;
}

/** Bundles functions/ offline with `wrangler deploy --dry-run` into a scratch directory. */
export async function buildWorkerBundle(): Promise<WorkerBundle> {
  // wrangler checks that the assets directory exists; build it only when missing, so a test does
  // not rewrite web/dist under another run that is reading it.
  if (!existsSync(join(repoRoot, 'web/dist/index.html'))) await buildWebInChild();
  const outdir = await bundleWorker(mkdtempSync(join(tmpdir(), 'watchtower-e2e-bundle-')));
  const toml = readFileSync(join(repoRoot, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  return {
    scriptPath: join(outdir, 'index.js'),
    compatibilityDate: date,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

export interface ApiInWorkerd {
  /** `fetch` against the Cloudflare Worker, with the bootstrap admin token. */
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Runs the cron once (the Worker's `scheduled` handler) and says how it ended. */
  scheduled(): Promise<{ outcome: string }>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API answered.
  body: any;
  /** Milliseconds from the request to the whole answer, for reporting only. */
  ms: number;
}

/**
 * Starts the bundle in workerd with these bindings (strings only: vars and secrets alike). Given the
 * local WebSocket relay (WATCHTOWER_LOCAL_NEON_RELAY) but no WATCHTOWER_LOCAL_NEON_HTTP, it starts
 * its own stand-in for Neon's `POST /sql` too, and stops it on `close()`.
 */
export async function startApiInWorkerd(
  bundle: WorkerBundle,
  bindings: Record<string, string> & { WATCHTOWER_ADMIN_TOKEN: string },
): Promise<ApiInWorkerd> {
  let neonHttp: NeonHttp | undefined;
  const allBindings = { ...bindings };
  if (bindings.WATCHTOWER_LOCAL_NEON_RELAY && !bindings.WATCHTOWER_LOCAL_NEON_HTTP) {
    neonHttp = await startNeonHttp({ port: 0 });
    allBindings.WATCHTOWER_LOCAL_NEON_HTTP = `127.0.0.1:${neonHttp.port}`;
  }
  const mf = new Miniflare({
    modules: true,
    scriptPath: bundle.scriptPath,
    // Module names are relative to this root; workerd refuses a path that climbs out of it.
    modulesRoot: dirname(bundle.scriptPath),
    compatibilityDate: bundle.compatibilityDate,
    bindings: allBindings,
    host: '127.0.0.1',
    port: 0,
  });
  try {
    await mf.ready;
  } catch (error) {
    await neonHttp?.close();
    throw error;
  }
  return {
    async request(method, path, body) {
      const started = performance.now();
      const response = await mf.dispatchFetch(`http://127.0.0.1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${bindings.WATCHTOWER_ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      const ms = performance.now() - started;
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text so a failing assertion shows it
      }
      return { status: response.status, headers: response.headers as unknown as Headers, body: parsed, ms };
    },
    async scheduled() {
      const worker = await mf.getWorker();
      const result = await worker.scheduled({ cron: '* * * * *' });
      return { outcome: result.outcome };
    },
    async close() {
      await mf.dispose();
      await neonHttp?.close();
    },
  };
}
