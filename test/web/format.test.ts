import { describe, expect, it } from 'vitest';
import { formatAge, formatCount } from '../../web/src/lib/format';

// The dashboard's number and time formatting (web/src/lib/format.ts), in the default locale.
const thousand = (1000).toLocaleString();

describe('counts on the dashboard', () => {
  it('show an exact count as it is, a lower bound with "+", an estimate with "≈"', () => {
    expect(formatCount(1000)).toBe(thousand);
    expect(formatCount(1000, 'lower_bound')).toBe(`${thousand}+`);
    expect(formatCount(1_234_567, 'estimated')).toMatch(/^≈ 1\.2\s?M$/);
  });
});

describe('times on the dashboard', () => {
  it('read as an age, never negative under clock skew', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(formatAge(now + 5_000, now)).toBe('just now');
    expect(formatAge(now - 12_000, now)).toBe('12 s ago');
    expect(formatAge(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatAge(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatAge(now - 3 * 86_400_000, now)).toBe('3 d ago');
  });
});
