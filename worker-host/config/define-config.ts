import type { WatchtowerConfigInput } from './config-schema';

/**
 * Typed helper for configuration modules: `export default defineConfig({ ... })`. It returns the
 * configuration as it is; its type is the input of the schema the host validates it with
 * (config-schema.ts), so an editor flags a wrong field before the host refuses it. In a module of
 * its own, importing types only: a configuration file loads nothing else of the package.
 */
export function defineConfig(config: WatchtowerConfigInput): WatchtowerConfigInput {
  return config;
}
