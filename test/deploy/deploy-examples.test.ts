import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { hostOptionsSchema } from '../../worker-host/config/config-schema';
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../../worker-host/recorder/recorder';
import { readmeVariables, undocumentedVariables, variablesNamedIn } from '../support/documented-variables';
import { runCli } from '../worker-host/harness';
import { composeSeconds, parseUnitFile, unitSeconds, unitValue, unitValues } from './example-files';

/**
 * The examples under deploy/, checked statically: there is no container engine, no systemd as
 * PID 1 and no Kubernetes cluster on the machines this is built on (deploy/README.md says so). Each
 * file is parsed; what it must say is asserted (a stop budget above the host's grace period, a
 * non-root user, secrets from outside the file, the spool on a volume, a health probe); every
 * environment variable it mentions is in README.md's table; and the health command the probes run
 * is given to the real CLI, which must take its arguments (a typo would exit 2, not 1).
 */
const repoRoot = join(import.meta.dirname, '../..');
const deploy = join(repoRoot, 'deploy');
const read = (path: string) => readFileSync(join(deploy, path), 'utf8');

/** The host's grace period by default (host.gracePeriod), and what a stop must allow beyond it. */
const grace = hostOptionsSchema.parse({}).gracePeriod;
// Current jobs get the grace period; then the recorder keeps trying Postgres for its last flush.
const stopBudget = grace + DEFAULT_CLOSE_TIMEOUT_MS / 1000;
const documented = readmeVariables();
const SECRETS = ['DATABASE_URL', 'REDIS_URL'];

function undocumented(names: Iterable<string>): string[] {
  return [...names].filter((name) => !documented.has(name));
}

interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  livenessProbe?: { exec?: { command: string[] } };
  startupProbe?: { exec?: { command: string[] } };
  securityContext?: { allowPrivilegeEscalation?: boolean; runAsUser?: number };
}

/** deploy/kubernetes/worker-host.yaml, parsed: every document without error, and its Deployment. */
function kubernetes() {
  const text = read('kubernetes/worker-host.yaml');
  const documents = parseAllDocuments(text);
  for (const document of documents) expect(document.errors).toEqual([]);
  const objects = documents.map((document) => document.toJS() as Record<string, unknown>);
  const deployment = objects.find((o) => o.kind === 'Deployment') as {
    apiVersion: string;
    spec: {
      selector: { matchLabels: Record<string, string> };
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          terminationGracePeriodSeconds: number;
          securityContext: { runAsNonRoot: boolean; runAsUser: number };
          containers: Container[];
          volumes: Array<{ name: string; emptyDir?: object; persistentVolumeClaim?: object }>;
        };
      };
    };
  };
  return { text, deployment };
}

/** deploy/compose.yaml, parsed. */
function composeFile() {
  const text = read('compose.yaml');
  const compose = parse(text) as {
    services: Record<
      string,
      {
        build?: { context: string; dockerfile: string };
        image?: string;
        command?: string[];
        environment?: Record<string, string>;
        volumes?: string[];
        healthcheck?: {
          test: string[];
          interval: string;
          timeout: string;
          start_period: string;
          retries: number;
        };
        stop_signal?: string;
        stop_grace_period?: string;
        depends_on?: Record<string, { condition: string }>;
      }
    >;
    volumes: Record<string, unknown>;
  };
  return { text, compose };
}

describe('deploy/ examples', () => {
  const emptyState = mkdtempSync(join(tmpdir(), 'watchtower-deploy-test-'));
  afterAll(() => rmSync(emptyState, { recursive: true, force: true }));

  it('the README table has the variables the tests check against', () => {
    // A misread table would pass everything: it must at least hold the host's own.
    expect(documented.has('DATABASE_URL')).toBe(true);
    expect(documented.has('WATCHTOWER_STATE_DIR')).toBe(true);
    expect(grace).toBeGreaterThan(0);
  });

  it('systemd: restarts always, stops with SIGTERM within a budget above the grace period, as a non-root user', () => {
    const text = read('systemd/watchtower-host.service');
    const unit = parseUnitFile(text);
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(unitValue(unit, 'Service', 'Restart')).toBe('always');
    expect(unitValue(unit, 'Service', 'KillSignal')).toBe('SIGTERM');
    // The host alone gets SIGTERM and stops its worker processes itself, within their grace.
    expect(unitValue(unit, 'Service', 'KillMode')).toBe('mixed');
    expect(unitSeconds(unitValue(unit, 'Service', 'TimeoutStopSec'))).toBeGreaterThan(stopBudget);
    const user = unitValue(unit, 'Service', 'User');
    expect(['root', '0', '']).not.toContain(user);
    // Secrets from a file outside the unit, never inline.
    expect(unitValue(unit, 'Service', 'EnvironmentFile')).toMatch(/^-?\/etc\//);
    const environment = new Map(
      unitValues(unit, 'Service', 'Environment').map((pair) => {
        const [name, ...value] = pair.replace(/^"|"$/g, '').split('=');
        return [name as string, value.join('=')];
      }),
    );
    for (const secret of SECRETS) expect(environment.has(secret)).toBe(false);
    // The spool in the StateDirectory systemd makes for that user.
    const state = unitValue(unit, 'Service', 'StateDirectory');
    expect(environment.get('WATCHTOWER_STATE_DIR')).toBe(`/var/lib/${state}`);
    expect(unitValue(unit, 'Service', 'StateDirectoryMode')).toBe('0700');
    expect(unitValue(unit, 'Service', 'ExecStart')).toMatch(/\/watchtower supervisor$/);
    expect(unitValue(unit, 'Install', 'WantedBy')).toBe('multi-user.target');

    const names = new Set([...environment.keys(), ...variablesNamedIn(text)]);
    for (const secret of SECRETS) expect(names.has(secret)).toBe(true);
    expect(undocumented(names)).toEqual([]);
  });

  it('Kubernetes: a Deployment with a grace above the host’s, a liveness probe, secrets from a Secret, the spool on an emptyDir, non-root', () => {
    const { text, deployment } = kubernetes();
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    const pod = deployment.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(stopBudget);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0] as Container;
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);

    const liveness = container.livenessProbe?.exec?.command ?? [];
    expect(liveness.slice(-2)).toEqual(['status', '--local']);
    expect(liveness[0]).toMatch(/\/watchtower$/);
    expect(container.startupProbe?.exec?.command).toEqual(liveness);

    // Every secret from the Secret, none written in the file.
    const env = container.env ?? [];
    for (const secret of SECRETS) {
      const entry = env.find((e) => e.name === secret);
      expect(entry?.value).toBeUndefined();
      expect(entry?.valueFrom?.secretKeyRef?.key).toBe(secret);
    }
    // The state directory is the mount of an emptyDir, and the file says what that costs.
    const state = env.find((e) => e.name === 'WATCHTOWER_STATE_DIR')?.value;
    const mount = container.volumeMounts?.find((m) => m.mountPath === state);
    expect(mount).toBeDefined();
    expect(pod.volumes.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
    expect(text).toMatch(/loses whatever its spool still held unreplayed/);
    expect(text).toMatch(/PersistentVolumeClaim/);

    const names = new Set([
      ...env.map((e) => e.name),
      ...env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : [])),
      ...variablesNamedIn(text),
    ]);
    expect(undocumented(names)).toEqual([]);
  });

  it('compose: Postgres, Redis and a host built from app.Dockerfile, with a healthcheck, the spool on a named volume and a stop grace above the host’s', () => {
    const { text, compose } = composeFile();
    expect(Object.keys(compose.services).sort()).toEqual(['migrate', 'postgres', 'redis', 'worker-host']);
    expect(compose.services.postgres?.image).toMatch(/^postgres:\d+/);
    expect(compose.services.redis?.image).toMatch(/^redis:\d+/);
    // BullMQ loses jobs when Redis evicts keys.
    expect(compose.services.redis?.command).toContain('noeviction');

    const host = compose.services['worker-host'];
    expect(host?.build).toEqual({ context: '.', dockerfile: 'app.Dockerfile' });
    expect(host?.stop_signal).toBe('SIGTERM');
    expect(composeSeconds(host?.stop_grace_period ?? '0')).toBeGreaterThan(stopBudget);
    const check = host?.healthcheck?.test ?? [];
    expect(check[0]).toBe('CMD');
    expect(check.slice(-2)).toEqual(['status', '--local']);
    expect(composeSeconds(host?.healthcheck?.start_period ?? '0')).toBeGreaterThan(0);

    const state = host?.environment?.WATCHTOWER_STATE_DIR;
    const volume = (host?.volumes ?? []).map((v) => v.split(':')).find(([, target]) => target === state);
    expect(volume?.[0]).toMatch(/^[a-z][\w-]*$/); // a named volume, not a bind mount
    expect(Object.keys(compose.volumes)).toContain(volume?.[0]);
    // The host starts once the migrations ran and Redis answers.
    expect(host?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(compose.services.migrate?.command?.slice(-1)).toEqual(['migrate']);

    // Watchtower's own variables (of the services built from the app) and every interpolation.
    const names = new Set([
      ...Object.values(compose.services).flatMap((service) =>
        service.build ? Object.keys(service.environment ?? {}) : [],
      ),
      ...variablesNamedIn(text),
    ]);
    for (const secret of SECRETS) expect(names.has(secret)).toBe(true);
    expect(undocumented(names)).toEqual([]);
  });

  it('deploy/README.md names every example, and only documented variables', () => {
    const readme = read('README.md');
    const files = readdirSync(deploy, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name !== 'README.md')
      .map((entry) => join(entry.parentPath, entry.name).slice(deploy.length + 1));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) expect(readme, file).toContain(file);
    expect(undocumentedVariables(readme)).toEqual([]);
  });

  it('the health command each example runs is one the CLI takes', { timeout: 60_000 }, async () => {
    const container = kubernetes().deployment.spec.template.spec.containers[0];
    const healthCommands = new Map([
      ['Kubernetes liveness', container?.livenessProbe?.exec?.command ?? []],
      ['Kubernetes startup', container?.startupProbe?.exec?.command ?? []],
      [
        'compose healthcheck',
        composeFile().compose.services['worker-host']?.healthcheck?.test.slice(1) ?? [],
      ],
    ]);
    const distinct = new Map(
      [...healthCommands].map(([where, command]) => [command.slice(1).join(' '), where]),
    );
    for (const [args, where] of distinct) {
      // The installed bin is the CLI; with no host in this state directory it must say unhealthy
      // (exit 1), where a wrong option would be a usage error (exit 2).
      const run = await runCli(args.split(' '), {
        env: { ...process.env, WATCHTOWER_STATE_DIR: emptyState },
      });
      expect(run.code, `${where}: ${args}\n${run.stdout}${run.stderr}`).toBe(1);
      expect(run.stdout).toMatch(/^unhealthy: no host is running/);
    }
  });
});
