import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard: a Preact SPA built into web/dist (scripts/build-web.ts picks the output folder).
 * `npx vite --config web/vite.config.ts` serves it with hot reload and proxies /api to the Worker
 * that `npm start` runs (WATCHTOWER_API, http://127.0.0.1:8787 by default).
 */
export default defineConfig(({ command }) => ({
  // A build is for production even when started from a test run (NODE_ENV=test), so the tests see
  // the bundle users get and libraries drop their development checks.
  define: command === 'build' ? { 'process.env.NODE_ENV': JSON.stringify('production') } : {},
  root: fileURLToPath(new URL('.', import.meta.url)),
  publicDir: 'public',
  // JSX through Preact's runtime, as web/tsconfig.json says for the type checker.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact', development: command !== 'build' } },
  resolve: {
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  },
  build: {
    target: 'es2022',
    minify: true,
    // No inline script anywhere: the Content-Security-Policy allows only script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/api': process.env.WATCHTOWER_API ?? 'http://127.0.0.1:8787' },
  },
}));
