import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRealDate } from '../../src/model/dates.js';

/** The check as it was (split, Date.UTC, read back): the reference the digit-by-digit one must equal on YYYY-MM-DD text. */
function throughDate(iso: string): boolean {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('isRealDate', () => {
  it('calendar rules, by hand: 29 February only in leap years (2000 yes, 1900 no), 30 and 31 by month', () => {
    expect(isRealDate('2024-02-29')).toBe(true); // 2024 divisible by 4
    expect(isRealDate('2023-02-29')).toBe(false);
    expect(isRealDate('2000-02-29')).toBe(true); // divisible by 400
    expect(isRealDate('1900-02-29')).toBe(false); // divisible by 100, not by 400
    expect(isRealDate('2025-04-31')).toBe(false); // April has 30 days
    expect(isRealDate('2025-12-31')).toBe(true);
    expect(isRealDate('2025-13-01')).toBe(false);
    expect(isRealDate('2025-00-10')).toBe(false);
    expect(isRealDate('2025-01-00')).toBe(false);
    expect(isRealDate('2025-1-05')).toBe(false);
    expect(isRealDate('2025-01-05 ')).toBe(false);
    expect(isRealDate('2025/01/05')).toBe(false);
    expect(isRealDate('20a5-01-05')).toBe(false);
    expect(isRealDate('')).toBe(false);
  });

  it('equals the Date-based check on every generated YYYY-MM-DD text (years 0–9999, months and days 0–99)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), (y, m, d) => {
        const iso = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
        expect(isRealDate(iso)).toBe(throughDate(iso));
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals it on every day of 1899–2101, and refuses the next day after each month end', () => {
    for (let t = Date.UTC(1899, 0, 1); t <= Date.UTC(2101, 11, 31); t += 86_400_000) {
      const iso = new Date(t).toISOString().slice(0, 10);
      expect(isRealDate(iso)).toBe(true);
    }
    for (let y = 1899; y <= 2101; y++) {
      for (let m = 1; m <= 12; m++) {
        const next = new Date(Date.UTC(y, m, 0)).getUTCDate() + 1; // the day after the month's last
        expect(isRealDate(`${y}-${pad(m, 2)}-${pad(next, 2)}`)).toBe(false);
      }
    }
  });
});
