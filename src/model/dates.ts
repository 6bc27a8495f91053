import { z } from 'zod';

/** Calendar dates are ISO strings `YYYY-MM-DD` everywhere inside the pipeline (no time zone games). */
export const IsoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
  .refine(isRealDate, 'not a calendar date');
export type IsoDate = z.infer<typeof IsoDateSchema>;

/**
 * `YYYY-MM-DD` naming a day of the calendar. Read digit by digit, no Date and no array: every
 * date field of every ingested line goes through it (it was 7 % of `noemie liquidate`'s reading
 * thread). Years below 100 are refused, as `Date.UTC` (which reads them as 1900–1999) made the
 * previous check do; test/model/dates.test.ts compares the two on generated text.
 */
export function isRealDate(iso: string): boolean {
  if (iso.length !== 10 || iso.charCodeAt(4) !== 45 /* - */ || iso.charCodeAt(7) !== 45) return false;
  const y = digitsAt(iso, 0, 4);
  const m = digitsAt(iso, 5, 7);
  const d = digitsAt(iso, 8, 10);
  if (y < 100 || m < 1 || m > 12 || d < 1) return false;
  return d <= (m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : DAYS_IN_MONTH[m]!);
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** The number the decimal digits of text[from, to) spell, or -1 when one is not a digit. */
function digitsAt(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** `YYYYMMDD` (fixed-length records) to ISO; returns the input unchanged when it is not 8 digits, so zod reports it. */
export function compactToIso(compact: string): string {
  return /^\d{8}$/.test(compact) ? `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}` : compact;
}

export function isoToCompact(iso: string): string {
  return iso.replaceAll('-', '');
}

function toUtc(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d);
}

/*
 * Day arithmetic in integers for real dates (isRealDate, years 100–9999), the Date arithmetic
 * below for any other text. Why: the engine asks these on every line (insurance years of the
 * counters, renewal windows, stays, prescription), and each Date answer built two or three Date
 * objects and sliced an ISO text (≈ 5 % of the kernel's profile). Same answers: for a real date,
 * Date.UTC is the proleptic Gregorian day count computed here (H. Hinnant's days_from_civil /
 * civil_from_days), and toISOString prints years 0–9999 on four digits; a year outside 100–9999
 * on either side (Date.UTC reads 0–99 as 1900–1999) or a fractional count goes the Date way.
 * test/model/dates.test.ts compares both on every day of 1999–2032 and on odd texts.
 */

/** Days from 1970-01-01 of a real date text, or NaN when it is not one (or its year is below 100). */
function dayNumberOf(iso: string): number {
  if (!isRealDate(iso)) return Number.NaN;
  return daysFromCivil(digitsAt(iso, 0, 4), digitsAt(iso, 5, 7), digitsAt(iso, 8, 10));
}

function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** The ISO text of a day number, or undefined when its year is outside 100–9999. */
function isoOfDayNumber(n: number): string | undefined {
  const z = n + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return isoOf(y, m, d);
}

function isoOf(y: number, m: number, d: number): string | undefined {
  if (y < 100 || y > 9999) return undefined;
  return `${y < 1000 ? '0' : ''}${y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

export function daysBetween(from: string, to: string): number {
  const days = dayNumberOf(to) - dayNumberOf(from);
  return Number.isNaN(days) ? daysBetweenByDate(from, to) : days;
}

export function addDays(iso: string, days: number): string {
  const n = dayNumberOf(iso);
  const text = Number.isNaN(n) || !Number.isSafeInteger(days) ? undefined : isoOfDayNumber(n + days);
  return text ?? addDaysByDate(iso, days);
}

export function addMonths(iso: string, months: number): string {
  if (!isRealDate(iso) || !Number.isSafeInteger(months)) return addMonthsByDate(iso, months);
  const total = digitsAt(iso, 0, 4) * 12 + digitsAt(iso, 5, 7) - 1 + months;
  const y = Math.floor(total / 12);
  const m = total - y * 12 + 1;
  const last = m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : DAYS_IN_MONTH[m]!;
  return isoOf(y, m, Math.min(digitsAt(iso, 8, 10), last)) ?? addMonthsByDate(iso, months);
}

/** The Date arithmetic: the reference of the integer functions above, and their answer for any other text. */
export function daysBetweenByDate(from: string, to: string): number {
  return Math.round((toUtc(to) - toUtc(from)) / 86_400_000);
}

export function addDaysByDate(iso: string, days: number): string {
  return new Date(toUtc(iso) + days * 86_400_000).toISOString().slice(0, 10);
}

export function addMonthsByDate(iso: string, months: number): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1 + months, 1));
  const lastDay = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 0)).getUTCDate();
  t.setUTCDate(Math.min(d, lastDay));
  return t.toISOString().slice(0, 10);
}

/** Whole years of age on `at` (birthday counted on the day itself). */
export function ageOn(birthDate: string, at: string): number {
  const [by, bm, bd] = birthDate.split('-').map(Number) as [number, number, number];
  const [ay, am, ad] = at.split('-').map(Number) as [number, number, number];
  return ay - by - (am < bm || (am === bm && ad < bd) ? 1 : 0);
}
