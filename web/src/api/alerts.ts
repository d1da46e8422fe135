import type { hc, InferRequestType, InferResponseType } from 'hono/client';
// Types only, from the Worker's routes; not through ./client, so the form logic (web/src/lib) that
// uses these types is checked outside the browser too.
import type { AppType } from '../../../functions/index';

type Alerts = ReturnType<typeof hc<AppType>>['api']['alerts'];

/** GET /api/alerts: what fires now, and the history of alert events. */
export type AlertsAnswer = InferResponseType<Alerts['$get'], 200>;
export type FiringAlert = AlertsAnswer['firing'][number];
export type AlertEvent = AlertsAnswer['events'][number];
export type AlertKind = FiringAlert['kind'];

export type AlertRuleList = InferResponseType<Alerts['rules']['$get'], 200>;
export type AlertRule = AlertRuleList['rules'][number];
export type AlertScope = AlertRule['scope'];
export type CreateAlertRuleBody = InferRequestType<Alerts['rules']['$post']>['json'];
export type AlertRulePatch = InferRequestType<Alerts['rules'][':id']['$patch']>['json'];

export type SilenceList = InferResponseType<Alerts['silences']['$get'], 200>;
export type Silence = SilenceList['silences'][number];
export type CreateSilenceBody = InferRequestType<Alerts['silences']['$post']>['json'];

export type AlertChannelList = InferResponseType<Alerts['channels']['$get'], 200>;
export type AlertChannel = AlertChannelList['channels'][number];
export type ChannelKind = AlertChannel['kind'];
export type CreateAlertChannelBody = InferRequestType<Alerts['channels']['$post']>['json'];
export type AlertChannelPatch = InferRequestType<Alerts['channels'][':id']['$patch']>['json'];

export type DeliveryList = InferResponseType<Alerts['deliveries']['$get'], 200>;
export type Delivery = DeliveryList['deliveries'][number];

/** Each kind in words, and the thresholds (`params`) it takes, as functions/schemas/alert-rules.ts has them. */
export const KINDS: Record<
  AlertKind,
  { label: string; params: ReadonlyArray<{ name: string; label: string; min: number; max: number }> }
> = {
  host_down: {
    label: 'Host down',
    params: [{ name: 'seconds', label: 'No heartbeat for more than (seconds)', min: 5, max: 86_400 }],
  },
  crash_loop: {
    label: 'Crash loop',
    params: [
      { name: 'restarts', label: 'More worker restarts than', min: 0, max: 100_000 },
      { name: 'minutes', label: 'Within (minutes)', min: 1, max: 180 },
    ],
  },
  queue_wait: {
    label: 'Queue wait',
    params: [{ name: 'seconds', label: 'Oldest waiting job older than (seconds)', min: 1, max: 2_592_000 }],
  },
  queue_depth: {
    label: 'Queue depth',
    params: [{ name: 'waiting', label: 'More jobs waiting than', min: 0, max: 100_000_000 }],
  },
  failure_rate: {
    label: 'Failure rate',
    params: [
      { name: 'percent', label: 'More failed than (%)', min: 0, max: 100 },
      { name: 'minJobs', label: 'Of at least (finished jobs)', min: 1, max: 10_000_000 },
      { name: 'minutes', label: 'Within (minutes)', min: 1, max: 1440 },
    ],
  },
  queue_stalled: {
    label: 'Queue stalled',
    params: [{ name: 'minutes', label: 'No job completed for (minutes)', min: 1, max: 1440 }],
  },
  connection_down: { label: 'Connection down', params: [] },
  connection_slow: {
    label: 'Connection slow',
    params: [{ name: 'p95Ms', label: 'Round-trip p95 over (ms)', min: 1, max: 600_000 }],
  },
  maxmemory_policy: { label: 'Redis maxmemory policy', params: [] },
};

export const ALERT_KINDS = Object.keys(KINDS) as AlertKind[];

/** The scopes the API accepts for each kind (functions/schemas/alert-rules.ts, SCOPES_OF). */
export const SCOPES_OF: Record<AlertKind, ReadonlyArray<AlertScope['type']>> = {
  host_down: ['all', 'host'],
  crash_loop: ['all', 'host'],
  queue_wait: ['all', 'connection', 'queue'],
  queue_depth: ['all', 'connection', 'queue'],
  failure_rate: ['all', 'connection', 'queue'],
  queue_stalled: ['all', 'connection', 'queue'],
  connection_down: ['all', 'connection', 'host'],
  connection_slow: ['all', 'connection', 'host'],
  maxmemory_policy: ['all', 'connection', 'host'],
};

export const SCOPE_LABELS: Record<AlertScope['type'], string> = {
  all: 'Everything',
  connection: 'A connection',
  queue: 'A queue',
  host: 'Hosts with a label',
};

/** A scope in one line: "everything", "connection main", "queue main/emails", "hosts labelled eu". */
export function scopeText(scope: AlertScope | null): string {
  if (scope === null) return '–';
  switch (scope.type) {
    case 'all':
      return 'everything';
    case 'connection':
      return `connection ${scope.connection}`;
    case 'queue':
      return `queue ${scope.connection}/${scope.queue}`;
    case 'host':
      return `hosts labelled ${scope.label}`;
  }
}

/** A rule's thresholds in words: "seconds 60, minutes 5". */
export function paramsText(rule: Pick<AlertRule, 'kind' | 'params'>): string {
  const shapes = KINDS[rule.kind].params;
  if (shapes.length === 0) return '–';
  return shapes.map((shape) => `${shape.label}: ${rule.params[shape.name] ?? '–'}`).join('; ');
}
