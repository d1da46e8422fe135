/**
 * Readers for the deploy/ examples' tests: a systemd unit file (INI with repeated keys) and the
 * durations systemd and compose write. The variables a file names and the README's table of them
 * are read by test/support/documented-variables.ts.
 */

export type UnitFile = Map<string, Array<[key: string, value: string]>>;

/**
 * systemd's unit syntax: `[Section]` headers, `Key=Value` lines (a key may repeat), `#` and `;`
 * comments, a trailing backslash continuing the line. Anything else is an error naming the line,
 * as systemd would refuse it.
 */
export function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Array<[string, string]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      const name = header[1] as string;
      if (unit.has(name)) throw new Error(`line ${index + 1}: section [${name}] appears twice`);
      section = [];
      unit.set(name, section);
      return;
    }
    const pair = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!pair) throw new Error(`line ${index + 1}: not a Key=Value line: ${line}`);
    if (!section) throw new Error(`line ${index + 1}: ${pair[1]} comes before any [Section]`);
    section.push([pair[1] as string, (pair[2] as string).trim()]);
  });
  return unit;
}

/** The values of a key in a section, in order (empty when absent). */
export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, value]) => value);
}

/** The one value of a key, or an error saying it is missing or repeated. */
export function unitValue(unit: UnitFile, section: string, key: string): string {
  const values = unitValues(unit, section, key);
  if (values.length !== 1) throw new Error(`[${section}] ${key}: ${values.length} values`);
  return values[0] as string;
}

/** systemd's time spans as its examples write them: `60`, `60s`, `1min`, `1min 30s`. */
export function unitSeconds(span: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600 };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const match = /^(\d+)([a-z]*)$/.exec(part);
    const unit = match ? units[match[2] as string] : undefined;
    if (!match || unit === undefined) throw new Error(`not a time span systemd reads: ${span}`);
    total += Number(match[1]) * unit;
  }
  return total;
}

/** Compose's durations: `60s`, `1m30s`, `90`. */
export function composeSeconds(value: string | number): number {
  if (typeof value === 'number') return value;
  const parts = [...value.matchAll(/(\d+)(h|m|s|ms)?/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`not a compose duration: ${value}`);
  }
  const scale: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return parts.reduce((sum, p) => sum + Number(p[1]) * (scale[p[2] ?? 's'] as number), 0);
}
