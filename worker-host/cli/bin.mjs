#!/usr/bin/env node
// The `watchtower` command as installed (the package's "bin"). In this repository the CLI is the
// TypeScript sources, run through tsx's loader. The published package ships no sources, only the
// CLI compiled by its build (dist/cli.mjs, scripts/build-worker-host.ts), which runs under plain
// Node: a TypeScript configuration is loaded through tsx's scoped import (config/load-config.ts)
// and TypeScript processors are compiled by the supervisor, so no loader is registered up front and
// a short command (`status --local`, a container's HEALTHCHECK) starts without tsx's cost.
import { existsSync } from 'node:fs';

const sources = new URL('../cli.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/cli.mjs', import.meta.url).href);
}
