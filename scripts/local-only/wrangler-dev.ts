/**
 * LOCAL DEVELOPMENT TOOLING: the `wrangler dev` command line that runs the Worker (and the
 * dashboard's static assets) in workerd against the local stand-ins. `npm start` and the browser
 * tests use the same one, so the tests see what a developer sees.
 */
export interface WranglerDevOptions {
  port: number;
  /** workerd's inspector; give each concurrent `wrangler dev` its own. */
  inspectorPort?: number;
  /** Where wrangler keeps local state (.wrangler/state by default); a test gives its own folder. */
  persistTo?: string;
  /** The Worker's bindings, passed as --var NAME:value. */
  vars: Record<string, string>;
}

export function wranglerDevArgs(options: WranglerDevOptions): string[] {
  const args = [
    'dev',
    '--port',
    String(options.port),
    '--ip',
    '127.0.0.1',
    '--test-scheduled',
    '--show-interactive-dev-session=false',
  ];
  if (options.inspectorPort !== undefined) args.push('--inspector-port', String(options.inspectorPort));
  if (options.persistTo !== undefined) args.push('--persist-to', options.persistTo);
  for (const [name, value] of Object.entries(options.vars)) args.push('--var', `${name}:${value}`);
  return args;
}
