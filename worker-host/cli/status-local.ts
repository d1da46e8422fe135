import { hostname } from 'node:os';
import { healthDir, pidAlive, readHealthFiles } from '../host/health-file';
import { DEFAULT_HEALTH_RULES, type HealthRules, judgeHealth } from '../host/health-rules';
import { print } from './cli-support';

/**
 * `watchtower status --local`: the health of the hosts running on this machine, from the files
 * they write in their state directory (host/health-file.ts), judged by host/health-rules.ts. It
 * needs neither Postgres nor the network, which is what a HEALTHCHECK or a liveness probe wants:
 * it answers for this machine even while Postgres is away. Exit 0 when every host of this machine
 * is healthy, 1 otherwise (none running counts as unhealthy); one line per host says why.
 */
export async function statusLocal(
  options: { json: boolean; staleAfterMs?: number },
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): Promise<number> {
  const dir = healthDir(env);
  const rules: HealthRules = {
    ...DEFAULT_HEALTH_RULES,
    staleAfterMs: options.staleAfterMs ?? DEFAULT_HEALTH_RULES.staleAfterMs,
  };
  const machine = hostname();
  const files = await readHealthFiles(dir);
  // Files of other machines (a state volume that moved to a new container) say nothing of this one.
  const here = files.filter((file) => file.health === undefined || file.health.hostname === machine);
  const lines: string[] = [];
  const hosts: Array<{ hostId: string; healthy: boolean; reason: string; health: unknown }> = [];
  let healthy = true;
  for (const file of here) {
    if (!file.health) {
      healthy = false;
      lines.push(`unhealthy: cannot read the health file ${file.file}: ${file.error}`);
      continue;
    }
    const verdict = judgeHealth(file.health, now, rules, pidAlive);
    healthy &&= verdict.healthy;
    lines.push(verdict.reason);
    hosts.push({ hostId: file.health.hostId, ...verdict, health: file.health });
  }
  if (here.length === 0) {
    healthy = false;
    lines.push(
      `unhealthy: no host is running on this machine (${machine}): no health file in ${dir} (set WATCHTOWER_STATE_DIR as the host has it)`,
    );
  }
  if (options.json) print(JSON.stringify({ healthy, dir, hostname: machine, hosts, lines }, null, 2));
  else for (const line of lines) print(line);
  return healthy ? 0 : 1;
}
