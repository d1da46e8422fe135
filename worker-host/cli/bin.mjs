#!/usr/bin/env node
// The `watchtower` command as installed (the package's "bin"). Users' configurations and processors
// may be TypeScript: tsx's loader is registered first, then the CLI runs as usual. In this
// repository the CLI is the TypeScript sources; the published package ships no sources, only the
// CLI compiled by its build (dist/cli.mjs, scripts/build-worker-host.ts).
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const sources = new URL('../cli.ts', import.meta.url);
await import(existsSync(sources) ? sources.href : new URL('../dist/cli.mjs', import.meta.url).href);
