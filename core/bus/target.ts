import { type CommandTarget, TARGET_KINDS, type TargetKind } from './command-bus';

/** Push wake-ups carry a target as `kind:id`; ids may contain colons, kinds never do. */
export function formatTarget(target: CommandTarget): string {
  return `${target.kind}:${target.id}`;
}

export function parseTarget(text: string): CommandTarget | null {
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  const kind = text.slice(0, colon);
  if (!(TARGET_KINDS as readonly string[]).includes(kind)) return null;
  return { kind: kind as TargetKind, id: text.slice(colon + 1) };
}
