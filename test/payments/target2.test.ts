import { describe, expect, it } from 'vitest';
import { easterSunday, nextTarget2BusinessDay, target2ClosedReason } from '../../src/payments/target2.js';

/**
 * The TARGET2 calendar a pain.001's requested execution date is rolled to. Easter dates are the
 * published ones (Gregorian computus), including the extremes of its range (22 March, 25 April).
 */
describe('easterSunday', () => {
  it.each([
    [2008, '2008-03-23'], // early Easter
    [2011, '2011-04-24'],
    [2019, '2019-04-21'],
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2038, '2038-04-25'], // the latest possible date
    [2285, '2285-03-22'], // the earliest possible date
  ])('%i → %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });
});

describe('target2ClosedReason', () => {
  it('names each closing day, and nothing on a business day or a French-only holiday', () => {
    expect(target2ClosedReason('2025-04-18')).toBe('Good Friday'); // Easter 2025-04-20 − 2 days
    expect(target2ClosedReason('2025-04-21')).toBe('Easter Monday'); // + 1 day
    expect(target2ClosedReason('2024-03-29')).toBe('Good Friday'); // Easter 2024-03-31 − 2
    expect(target2ClosedReason('2024-04-01')).toBe('Easter Monday');
    expect(target2ClosedReason('2026-04-03')).toBe('Good Friday'); // Easter 2026-04-05 − 2
    expect(target2ClosedReason('2026-05-01')).toBe('Labour Day'); // a Friday
    expect(target2ClosedReason('2025-12-25')).toBe('Christmas Day');
    expect(target2ClosedReason('2025-12-26')).toBe('Boxing Day');
    expect(target2ClosedReason('2027-01-01')).toBe('New Year’s Day'); // a Friday
    expect(target2ClosedReason('2025-03-29')).toBe('Saturday');
    expect(target2ClosedReason('2025-03-30')).toBe('Sunday');
    expect(target2ClosedReason('2025-03-31')).toBeNull(); // a Monday
    expect(target2ClosedReason('2025-07-14')).toBeNull(); // Bastille Day: French holiday, T2 open
    expect(target2ClosedReason('2025-05-08')).toBeNull(); // 8 May: French holiday, T2 open
    expect(target2ClosedReason('2025-05-29')).toBeNull(); // Ascension: T2 open
  });

  it('refuses what is not a calendar date', () => {
    expect(() => target2ClosedReason('2025-02-30')).toThrow(/not a calendar date/);
    expect(() => target2ClosedReason('31/03/2025')).toThrow(/not a calendar date/);
  });
});

describe('nextTarget2BusinessDay', () => {
  it('keeps a business day, rolls a closed one to the next open day', () => {
    expect(nextTarget2BusinessDay('2025-03-31')).toBe('2025-03-31');
    // Saturday 29 March 2025 → Monday 31
    expect(nextTarget2BusinessDay('2025-03-29')).toBe('2025-03-31');
    // Good Friday 18 April 2025 → Saturday, Sunday, Easter Monday closed → Tuesday 22
    expect(nextTarget2BusinessDay('2025-04-18')).toBe('2025-04-22');
    // Good Friday 3 April 2026 → Tuesday 7 April
    expect(nextTarget2BusinessDay('2026-04-03')).toBe('2026-04-07');
    // Thursday 1 May 2025 → Friday 2
    expect(nextTarget2BusinessDay('2025-05-01')).toBe('2025-05-02');
    // Friday 1 May 2026 → Saturday, Sunday → Monday 4
    expect(nextTarget2BusinessDay('2026-05-01')).toBe('2026-05-04');
    // Thursday 25 December 2025 → 26 closed → Saturday, Sunday → Monday 29
    expect(nextTarget2BusinessDay('2025-12-25')).toBe('2025-12-29');
    // Saturday 31 December 2022 → Sunday, 1 January 2023 (a Sunday) → Monday 2 January 2023
    expect(nextTarget2BusinessDay('2022-12-31')).toBe('2023-01-02');
  });

  it('is a business day, on or after the date, with no business day skipped (every day of 2024–2027)', () => {
    for (let ms = Date.UTC(2024, 0, 1); ms <= Date.UTC(2027, 11, 31); ms += 86_400_000) {
      const day = new Date(ms).toISOString().slice(0, 10);
      const next = nextTarget2BusinessDay(day);
      expect(target2ClosedReason(next)).toBeNull();
      expect(next >= day).toBe(true);
      for (let d = Date.parse(day); d < Date.parse(next); d += 86_400_000) expect(target2ClosedReason(new Date(d).toISOString().slice(0, 10))).not.toBeNull();
    }
  });
});
