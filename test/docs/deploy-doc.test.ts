import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unstable_readConfig } from 'wrangler';
import { readmeVariables, undocumentedVariables, variablesNamedIn } from '../support/documented-variables';

const repoRoot = join(import.meta.dirname, '../..');
const docPath = join(repoRoot, 'docs/deploy.md');
const doc = readFileSync(docPath, 'utf8');

/**
 * docs/deploy.md stays true: its variables are the README's, its commands exist, it sets every
 * secret the Worker reads, and its cron is wrangler.toml's.
 */
describe('docs/deploy.md', () => {
  it('names only variables the README’s table lists', () => {
    expect(variablesNamedIn(doc)).toContain('DATABASE_URL');
    expect(undocumentedVariables(doc)).toEqual([]);
  });

  it('would catch a variable the README does not list', () => {
    const documented = readmeVariables();
    expect(documented.has('WATCHTOWER_COMMAND_BUS')).toBe(true);
    expect(undocumentedVariables('set `WATCHTOWER_NOT_A_SETTING=1` and $HOME_DIR', documented)).toEqual([
      'HOME_DIR',
      'WATCHTOWER_NOT_A_SETTING',
    ]);
    // Prose in capitals is not a variable; `$NAME` is, underscore or not.
    expect(variablesNamedIn('stop it with SIGTERM, LISTEN for NOTIFY on $PORT')).toEqual(['PORT']);
  });

  it('runs only npm scripts that exist', () => {
    const scripts = Object.keys(
      (
        JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
          scripts: Record<string, string>;
        }
      ).scripts,
    );
    const used = [...doc.matchAll(/npm run ([a-z][\w:-]*)/g)].map((match) => match[1]);
    expect(used).toContain('deploy');
    expect(used).toContain('db:migrate');
    for (const script of used) expect(scripts, `npm run ${script}`).toContain(script);
  });

  it('sets every secret the Worker reads with `wrangler secret put`', () => {
    // functions/env.ts marks each secret binding in its comment ("Secret" / "Secret, optional").
    const env = readFileSync(join(repoRoot, 'functions/env.ts'), 'utf8');
    const secrets = [
      ...env.matchAll(/\/\*\*\s*Secret\b(?:(?!\*\/)[\s\S])*\*\/\s*([A-Z][A-Z0-9_]*)\??:/g),
    ].map((m) => m[1]);
    expect(secrets).toContain('DATABASE_URL');
    expect(secrets).toContain('WATCHTOWER_ADMIN_TOKEN');
    const put = new Set([...doc.matchAll(/npx wrangler secret put ([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]));
    for (const secret of secrets) expect(put, `wrangler secret put ${secret}`).toContain(secret);
  });

  it('shows the cron trigger wrangler.toml declares, and links only to files that exist', () => {
    const config = unstable_readConfig({ config: join(repoRoot, 'wrangler.toml') });
    expect(config.triggers.crons?.length).toBeGreaterThan(0);
    for (const cron of config.triggers.crons ?? []) expect(doc).toContain(`crons = ["${cron}"]`);
    for (const [, target] of doc.matchAll(/\]\((?!https?:)([^)#]+)(?:#[^)]*)?\)/g)) {
      expect(existsSync(join(dirname(docPath), target ?? '')), target).toBe(true);
    }
  });
});
