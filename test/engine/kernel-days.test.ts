import { describe, expect, it } from 'vitest';
import { beforeDaysAfter, claimedPastTwoYears } from '../../src/engine/kernel/days.js';
import { addDays, addMonths } from '../../src/model/dates.js';

/**
 * The kernel's integer date questions (src/engine/kernel/days.ts) against the Date arithmetic of
 * model/dates.ts they replace on the hot path: the same answer for every day of 1999–2032 (leap
 * years 2000, 2004 … 2032, the 29 February + 24 months), on each side of the boundary, and for
 * texts the integer reading refuses (they go to model/dates.ts).
 */

function* days(from: string, to: string): Generator<string> {
  for (let d = from; d <= to; d = addDays(d, 1)) yield d;
}

describe('kernel dates in integers = model/dates.ts', () => {
  it('care + 24 months < claimed, for every care day of 1999–2032 and claims on the day before, on and after the 24 months', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const care of days('1999-01-01', '2032-12-31')) {
      const end = addMonths(care, 24);
      for (const claimed of [addDays(end, -1), end, addDays(end, 1)]) {
        checked += 1;
        if (claimedPastTwoYears(care, claimed) !== addMonths(care, 24) < claimed) wrong.push(`${care} claimed ${claimed}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(36_000);
  });

  it('worked: care on 29 February 2024 is barred from 1 March 2026 (24 months end on 28 February 2026)', () => {
    // addMonths('2024-02-29', 24): February 2026 has 28 days → 2026-02-28; barred when that is < claimed.
    expect(claimedPastTwoYears('2024-02-29', '2026-02-28')).toBe(false);
    expect(claimedPastTwoYears('2024-02-29', '2026-03-01')).toBe(true);
    // 31 August + 24 months = 31 August: claimed on 1 September two years later is barred.
    expect(claimedPastTwoYears('2023-08-31', '2025-08-31')).toBe(false);
    expect(claimedPastTwoYears('2023-08-31', '2025-09-01')).toBe(true);
  });

  it('care < start + N days, for every start day of 1999–2032, waiting periods of 0, 1, 59, 60, 90 and 365 days, care on each side', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const start of days('1999-01-01', '2032-12-31')) {
      for (const n of [0, 1, 59, 60, 90, 365]) {
        const end = addDays(start, n);
        for (const care of [addDays(end, -1), end, addDays(end, 1)]) {
          checked += 1;
          if (beforeDaysAfter(care, start, n) !== care < addDays(start, n)) wrong.push(`${care} start ${start} + ${n}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(200_000);
  });

  it('texts the integers do not read take the Date path, with its answer', () => {
    // An impossible day (30 February: Date.UTC runs it into March, a text compares as written),
    // years 0–99 (Date.UTC reads 19xx), a day 00, a non-date: same answers as model/dates.ts.
    const odd = ['2025-02-30', '0025-03-01', '2025-03-00', '2025-13-01', '2025-3-1', 'not a date', '9999-12-31'];
    for (const a of odd) {
      for (const b of ['2025-03-01', '2027-03-01', ...odd]) {
        let expected: boolean | string;
        try {
          expected = addMonths(a, 24) < b;
        } catch (e) {
          expected = String(e);
        }
        let got: boolean | string;
        try {
          got = claimedPastTwoYears(a, b);
        } catch (e) {
          got = String(e);
        }
        expect(got, `${a} claimed ${b}`).toBe(expected);
        try {
          expected = b < addDays(a, 60);
        } catch (e) {
          expected = String(e);
        }
        try {
          got = beforeDaysAfter(b, a, 60);
        } catch (e) {
          got = String(e);
        }
        expect(got, `${b} before ${a} + 60`).toBe(expected);
      }
    }
  });
});
