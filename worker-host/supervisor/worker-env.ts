/**
 * The environment a worker process starts with: the host's, minus Watchtower's own variables.
 *
 * A processor is the user's code, and it needs the user's environment (its API keys, REDIS_URL
 * for its own queues), not Watchtower's credentials: DATABASE_URL reaches Watchtower's Postgres,
 * WATCHTOWER_BUS_REDIS_URL and UPSTASH_* the command bus (whoever holds them can command every
 * host), WATCHTOWER_ADMIN_* the API. Every WATCHTOWER_ variable is withheld, not a list of the
 * secret ones, so a secret added later is withheld too; none of them means anything to a
 * processor, and what the worker process itself needs is passed to it explicitly
 * (spawn-worker.ts). A supervisor's `passEnv` names what its processors need all the same.
 */

/** Whether a variable is Watchtower's own, withheld from worker processes unless passed. */
export function isWithheld(name: string): boolean {
  return name === 'DATABASE_URL' || name.startsWith('WATCHTOWER_') || name.startsWith('UPSTASH_');
}

/** Whether `name` is matched by a `passEnv` entry: a name, `PREFIX_*`, or `*` for every variable. */
export function isPassed(name: string, passEnv: readonly string[]): boolean {
  return passEnv.some((entry) =>
    entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry,
  );
}

export function workerEnv(env: NodeJS.ProcessEnv, passEnv: readonly string[]): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (!isWithheld(name) || isPassed(name, passEnv))) result[name] = value;
  }
  return result;
}
