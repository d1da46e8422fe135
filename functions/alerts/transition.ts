/**
 * The life of one alert (a rule for one subject), one evaluation at a time: ok → firing → resolved
 * (→ firing again), with flap damping: the state changes only after `forEvaluations` consecutive
 * evaluations agree. While firing, a notification is due again every `renotifyMinutes`.
 */

export type AlertState = 'ok' | 'firing' | 'resolved';
export type AlertEventKind = 'firing' | 'renotify' | 'resolved';

export interface InstanceState {
  state: AlertState;
  badStreak: number;
  goodStreak: number;
  firedAt: Date | null;
  resolvedAt: Date | null;
  /** When a notification was last queued in this firing (null: none, e.g. silenced so far). */
  notifiedAt: Date | null;
}

export const FRESH_INSTANCE: InstanceState = {
  state: 'ok',
  badStreak: 0,
  goodStreak: 0,
  firedAt: null,
  resolvedAt: null,
  notifiedAt: null,
};

export interface Damping {
  forEvaluations: number;
  renotifyMinutes: number;
}

export interface Transition {
  next: InstanceState;
  /** What to record (and notify, unless silenced); null: nothing happened worth a line. */
  event: AlertEventKind | null;
}

export function transition(previous: InstanceState, bad: boolean, rule: Damping, now: Date): Transition {
  const next: InstanceState = {
    ...previous,
    badStreak: bad ? previous.badStreak + 1 : 0,
    goodStreak: bad ? 0 : previous.goodStreak + 1,
  };
  if (previous.state !== 'firing') {
    if (bad && next.badStreak >= rule.forEvaluations) {
      return {
        next: { ...next, state: 'firing', firedAt: now, resolvedAt: null, notifiedAt: null },
        event: 'firing',
      };
    }
    return { next, event: null };
  }
  if (!bad && next.goodStreak >= rule.forEvaluations) {
    return { next: { ...next, state: 'resolved', resolvedAt: now }, event: 'resolved' };
  }
  const since = previous.notifiedAt ?? previous.firedAt ?? now;
  if (now.getTime() - since.getTime() >= rule.renotifyMinutes * 60_000) {
    return { next, event: 'renotify' };
  }
  return { next, event: null };
}
