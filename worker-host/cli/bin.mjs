#!/usr/bin/env node
// The `watchtower` command as installed (package.json "bin"). The CLI, and users' configurations and
// processors, may be TypeScript: tsx's loader is registered first, then the CLI runs as usual.
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
