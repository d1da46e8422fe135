import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import type { HealthBody } from '../../functions/routes/health';
import { buildWorker, WORKER_GZIP_BUDGET, workerBundleSizes } from '../../scripts/build-worker';
import { startApiInWorkerd } from '../support/api-in-workerd';

const repoRoot = join(import.meta.dirname, '../..');

// What `wrangler deploy` would ship, bundled offline by `npm run build:worker`'s own code: it must
// build, stay deployable, carry none of the local-only tooling or Node-only clients, and start
// without I/O.
describe('the Cloudflare Worker bundle', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'watchtower-bundle-'));
  const script = join(outdir, 'index.js');
  beforeAll(async () => {
    await buildWorker(outdir);
  }, 60_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('builds with wrangler and leaves out local-only tooling and Node-only clients', () => {
    const sizes = workerBundleSizes(outdir);
    expect(sizes.files.map((f) => f.file)).toContain('index.js');
    const code = sizes.files.map((f) => readFileSync(join(outdir, f.file), 'utf8')).join('\n');
    expect(code).toContain('/api/health');
    for (const forbidden of [
      'scripts/local-only',
      'node_modules/ioredis/',
      'node_modules/pg/',
      'node_modules/ws/',
      'drizzle-orm/node-postgres',
      'worker-host/',
    ]) {
      expect(code, `bundle contains ${forbidden}`).not.toContain(forbidden);
    }
  });

  it('stays under its gzip budget, so Cloudflare accepts it', () => {
    const sizes = workerBundleSizes(outdir);
    // The measure itself: gzip of the real bytes, not a copy of wrangler's figure.
    expect(sizes.bytes).toBe(readFileSync(script).length);
    expect(sizes.gzip).toBeGreaterThan(0);
    expect(sizes.gzip).toBeLessThan(sizes.bytes);
    expect(
      sizes.gzip,
      `the Worker is ${sizes.gzip} bytes gzip, past its budget of ${WORKER_GZIP_BUDGET}`,
    ).toBeLessThanOrEqual(WORKER_GZIP_BUDGET);
  });

  it('starts in workerd without I/O at global scope, and answers /api/health', async () => {
    // workerd evaluates the module when Miniflare starts and refuses I/O outside a request
    // ("Disallowed operation called within global scope"): a bundle opening a WebSocket, setting a
    // timer or drawing random values at its top level fails to start. The bindings are wrangler.toml's vars plus stubbed secrets: the
    // database is unreachable on purpose (port 9, nothing listens), so health answers 503 with the
    // database named, which needs the whole app to have started.
    const config = unstable_readConfig({ config: join(repoRoot, 'wrangler.toml') });
    const vars = Object.fromEntries(
      Object.entries(config.vars).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    expect(vars.WATCHTOWER_COMMAND_BUS).toBe('database');
    const api = await startApiInWorkerd(
      { scriptPath: script, compatibilityDate: config.compatibility_date ?? '', cleanup: () => undefined },
      {
        ...vars,
        DATABASE_URL: 'postgres://watchtower@127.0.0.1:9/watchtower',
        WATCHTOWER_ADMIN_TOKEN: 'start-up-check-token-that-is-long-enough-0123456789',
      },
    );
    try {
      const response = await api.request('GET', '/api/health');
      const body = response.body as HealthBody;
      expect(body).toMatchObject({ status: 'degraded', checks: { database: 'error' } });
      expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(response.status).toBe(503);
    } finally {
      await api.close();
    }
  });

  it('calls no fetch, WebSocket, connect, timer or random source while its module is evaluated', async () => {
    // workerd does not catch everything: a top-level `fetch()` there only returns a rejected
    // promise (tried: the Worker starts and answers, nothing is logged), and a thrown refusal can be
    // swallowed by try/catch. Here every entry point records its call whatever becomes of it.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(import.meta.dirname, 'fixtures/start-up-probe.mjs'), script],
      { cwd: repoRoot },
    );
    const result = JSON.parse(stdout) as { calls: { name: string; args: string[] }[]; error?: string };
    expect(result.calls).toEqual([]);
    expect(result.error).toBeUndefined();
  });
});
