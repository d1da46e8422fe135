import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web';

// What `wrangler deploy` would ship, bundled offline: it must build, and it must carry none of the
// local-only tooling or Node-only clients.
describe('the Cloudflare Worker bundle', () => {
  it('builds with wrangler and leaves out local-only tooling and Node-only clients', async () => {
    await buildWeb();
    const outdir = mkdtempSync(join(tmpdir(), 'watchtower-bundle-'));
    execFileSync('./node_modules/.bin/wrangler', ['deploy', '--dry-run', '--outdir', outdir], {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      stdio: 'pipe',
    });
    const files = readdirSync(outdir).filter((file) => file.endsWith('.js'));
    expect(files.length).toBeGreaterThan(0);
    const code = files.map((file) => readFileSync(join(outdir, file), 'utf8')).join('\n');
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
  }, 60_000);
});
