import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, addDaysByDate, addMonths, addMonthsByDate, daysBetween, daysBetweenByDate, isRealDate } from '../../src/model/dates.js';

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

/** f(...args), or the text of what it threw: a Date answer that throws must throw the same way. */
function outcome<A extends unknown[]>(f: (...args: A) => unknown, ...args: A): unknown {
  try {
    return f(...args);
  } catch (e) {
    return `throws ${String(e)}`;
  }
}

describe('day arithmetic in integers = the Date arithmetic', () => {
  const everyDay: string[] = [];
  for (let d = '1999-01-01'; d <= '2032-12-31'; d = addDaysByDate(d, 1)) everyDay.push(d);

  it('by hand: month ends, leap days, a year across', () => {
    // 31 January + 1 month: February 2025 has 28 days → 28 February; 2024 is leap → 29.
    expect(addMonths('2025-01-31', 1)).toBe('2025-02-28');
    expect(addMonths('2024-01-31', 1)).toBe('2024-02-29');
    // 29 February 2024 + 24 months → 28 February 2026 (the prescription's end); − 12 → 28 February 2023.
    expect(addMonths('2024-02-29', 24)).toBe('2026-02-28');
    expect(addMonths('2024-02-29', -12)).toBe('2023-02-28');
    // 30 December + 3 days crosses the year: 31, 1, 2 → 2 January.
    expect(addDays('2025-12-30', 3)).toBe('2026-01-02');
    // 2024 has 366 days; 1 March 2024 − 1 day is the leap day.
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366);
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });

  it('addDays, addMonths and daysBetween equal the Date answers on every day of 1999–2032', () => {
    const wrong: string[] = [];
    for (const d of everyDay) {
      for (const n of [-731, -366, -1, 0, 1, 29, 59, 60, 365, 366, 731]) {
        if (addDays(d, n) !== addDaysByDate(d, n)) wrong.push(`addDays(${d}, ${n})`);
      }
      for (const n of [-48, -24, -13, -12, -1, 0, 1, 11, 12, 13, 24, 48]) {
        if (addMonths(d, n) !== addMonthsByDate(d, n)) wrong.push(`addMonths(${d}, ${n})`);
      }
      for (const other of ['1999-01-01', '2000-02-29', '2024-12-31', '2032-12-31']) {
        if (daysBetween(d, other) !== daysBetweenByDate(d, other)) wrong.push(`daysBetween(${d}, ${other})`);
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(everyDay.length).toBe(12_419);
  });

  it('odd texts and counts get the Date answer, a throw included (impossible days, years 0–99 and past 9999, fractions)', () => {
    const odd = ['2025-02-30', '2025-04-31', '0099-12-31', '0100-01-01', '9999-12-31', '2025-13-01', '2025-00-10', '2025-3-1', '', 'soon'];
    for (const d of odd) {
      for (const n of [-1, 0, 1, 1.5, 12, 36_500]) {
        expect(outcome(addDays, d, n), `addDays(${d}, ${n})`).toEqual(outcome(addDaysByDate, d, n));
        expect(outcome(addMonths, d, n), `addMonths(${d}, ${n})`).toEqual(outcome(addMonthsByDate, d, n));
      }
      for (const other of ['2025-03-01', ...odd]) expect(outcome(daysBetween, d, other), `daysBetween(${d}, ${other})`).toEqual(outcome(daysBetweenByDate, d, other));
    }
    // Real dates near the ends of what the integers print: 0100 − 1 day leaves it (Date answer), 9999 + 1 day too.
    expect(addDays('0100-01-01', -1)).toBe(addDaysByDate('0100-01-01', -1));
    expect(outcome(addDays, '9999-12-31', 1)).toEqual(outcome(addDaysByDate, '9999-12-31', 1));
  });
});
