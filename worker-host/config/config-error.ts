/**
 * A configuration that cannot be used; the message names the field and what is wrong with it. In a
 * file of its own so that a worker process can tell it apart without loading the configuration's
 * schema (zod) and loader.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
