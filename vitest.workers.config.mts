import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/**
 * Tests under test/workers run inside workerd with the Worker from wrangler.toml (its `main`,
 * assets and vars). The global setup starts the local stand-ins for Neon and Upstash and provides
 * the bindings that point at them; the pool reads them through `inject` when it starts Miniflare,
 * so the ports have one source of truth.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: { bindings: inject('workersBindings') },
    })),
  ],
  test: {
    include: ['test/workers/**/*.test.ts'],
    globalSetup: ['test/setup/workers-global-setup.ts'],
    testTimeout: 20_000,
    isolate: false,
    hookTimeout: 60_000,
  },
});
