import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { staticHeadersFile } from '../../functions/security-headers';
import { initialBundleSizes, refuseModuleRunnerLeftovers } from '../../scripts/build-web';
import { buildWebInChild as buildWeb } from '../support/web-build';

/** Every file under `dir`, as paths relative to it. */
function filesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** The scripts and stylesheets index.html names. */
function referencedBy(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="\/([^"]+)"/g)].map(
    (match) => match[1] ?? '',
  );
}

// `npm start` serves web/dist while other tests build it: a build must never leave a file missing
// (the server answered 500 when the folder was emptied and filled again).
describe('the dashboard assets build', () => {
  it('keeps every file index.html names in place, and nothing else in the folder, while builds run at once', async () => {
    const dist = await buildWeb();
    const index = join(dist, 'index.html');
    const expectedIndex = readFileSync(index, 'utf8');
    const expectedFiles = filesOf(dist);
    expect(expectedFiles).toContain('_headers');
    expect(expectedFiles.some((file) => /^assets\/index-[\w-]+\.js$/.test(file))).toBe(true);
    let checks = 0;
    const missing = new Set<string>();
    const strays = new Set<string>();
    let running = true;
    const watching = (async () => {
      while (running) {
        checks++;
        if (!existsSync(index)) missing.add('index.html');
        else {
          // What a browser loading the page right now would ask for next.
          for (const path of referencedBy(readFileSync(index, 'utf8')))
            if (!existsSync(join(dist, path))) missing.add(path);
        }
        // A file that shows up only to vanish (a half-written copy) breaks a reader listing the folder.
        for (const name of filesOf(dist)) if (!expectedFiles.includes(name)) strays.add(name);
        await setImmediate();
      }
    })();
    await Promise.all(Array.from({ length: 3 }, () => buildWeb()));
    running = false;
    await watching;
    expect(checks).toBeGreaterThan(5);
    expect([...missing]).toEqual([]);
    expect([...strays]).toEqual([]);
    expect(readFileSync(index, 'utf8')).toBe(expectedIndex);
    expect(filesOf(dist)).toEqual(expectedFiles);
  }, 120_000);

  it('gives the static files the Worker security headers, and stays within the size budget', async () => {
    const dist = await buildWeb();
    expect(readFileSync(join(dist, '_headers'), 'utf8')).toBe(staticHeadersFile());
    // No inline script: the Content-Security-Policy would block it.
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const sizes = initialBundleSizes(dist);
    console.info(`first page, gzip: JavaScript ${sizes.js} B, CSS ${sizes.css} B, HTML ${sizes.html} B`);
    expect(sizes.js).toBeGreaterThan(0);
    expect(sizes.js).toBeLessThanOrEqual(80 * 1024);
    expect(sizes.js + sizes.css + sizes.html).toBeLessThanOrEqual(120 * 1024);
  }, 60_000);

  it('holds no name of a module runner, and a build that does is refused before it is used', async () => {
    const dist = await buildWeb();
    const scripts = filesOf(dist).filter((file) => file.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(3);
    for (const file of scripts) expect(readFileSync(join(dist, file), 'utf8')).not.toContain('__vite_ssr_');
    // What Vite copied into the bundle when it was loaded through vitest's module runner.
    const broken = mkdtempSync(join(tmpdir(), 'watchtower-broken-build-'));
    try {
      writeFileSync(join(broken, 'preload.js'), 'new URL(e, __vite_ssr_import_meta__.url)');
      writeFileSync(join(broken, 'fine.js'), 'new URL(e, import.meta.url)');
      await expect(refuseModuleRunnerLeftovers(broken, ['fine.js'])).resolves.toBeUndefined();
      await expect(refuseModuleRunnerLeftovers(broken, ['fine.js', 'preload.js'])).rejects.toThrow(
        /preload\.js refers to __vite_ssr_ names/,
      );
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 120_000);
});
