import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web';

// `npm start` serves web/dist while other tests build it: a build must never leave a file missing
// (the server answered 500 when the folder was emptied and filled again).
describe('the dashboard assets build', () => {
  it('keeps every file in place, and nothing else in the folder, while builds run at once', async () => {
    const dist = await buildWeb();
    const index = join(dist, 'index.html');
    const expected = readFileSync(join(dist, '../public/index.html'), 'utf8');
    let checks = 0;
    let missing = 0;
    const strays = new Set<string>();
    let running = true;
    const watching = (async () => {
      while (running) {
        checks++;
        if (!existsSync(index)) missing++;
        // A file that shows up only to vanish (a half-written copy) breaks a reader listing the folder.
        for (const name of readdirSync(dist)) if (name !== 'index.html') strays.add(name);
        await setImmediate();
      }
    })();
    await Promise.all(Array.from({ length: 5 }, () => buildWeb()));
    running = false;
    await watching;
    expect(checks).toBeGreaterThan(5);
    expect(missing).toBe(0);
    expect([...strays]).toEqual([]);
    expect(readFileSync(index, 'utf8')).toBe(expected);
  });
});
