import { addDays, addMonths, type IsoDate } from '../../model/dates.js';

/**
 * The two date questions the kernel asks on every line — is the care 24 months old when claimed
 * (eligibility.ts), is it inside a waiting period (grid-liquidation.ts) — answered in integers,
 * without the `Date` objects and ISO texts of model/dates.ts `addMonths` / `addDays` (three Dates
 * and a sliced text per call; with the memo they replaced, 4 % of the kernel's profile). Same
 * answers: each function below is the comparison of model/dates.ts's result, for the dates where
 * the integer reading is the Date reading — a well-formed `YYYY-MM-DD` with a year from 100 to
 * 9997, a month 1–12 and a day of that month (Date.UTC reads years 0–99 as 19xx and runs a day past
 * the month's end into the next, where texts compare as they are written) —, and model/dates.ts
 * itself for any other text. Tested against it day by
 * day (test/engine/kernel-days.test.ts).
 */

/** The day as y × 10 000 + m × 100 + d, or -1 when it is not a date this file reads in integers. */
function ymd(iso: string): number {
  if (iso.length !== 10 || iso.charCodeAt(4) !== 45 || iso.charCodeAt(7) !== 45) return -1;
  let y = 0;
  for (let i = 0; i < 4; i++) {
    const c = iso.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    y = y * 10 + c;
  }
  const m1 = iso.charCodeAt(5) - 48;
  const m2 = iso.charCodeAt(6) - 48;
  const d1 = iso.charCodeAt(8) - 48;
  const d2 = iso.charCodeAt(9) - 48;
  if (!(m1 >= 0 && m1 <= 9 && m2 >= 0 && m2 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return -1;
  const m = m1 * 10 + m2;
  const d = d1 * 10 + d2;
  if (y < 100 || y > 9997 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return -1;
  return y * 10_000 + m * 100 + d;
}

function leap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (leap(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil; a day past the month's end runs on, as Date.UTC does). */
function dayNumber(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** `addMonths(careDate, 24) < claimedOn` (eligibility.ts, the prescription biennale). */
export function claimedPastTwoYears(careDate: IsoDate, claimedOn: IsoDate): boolean {
  const care = ymd(careDate);
  const claimed = ymd(claimedOn);
  if (care < 0 || claimed < 0) return addMonths(careDate, 24) < claimedOn;
  const y = Math.floor(care / 10_000) + 2;
  const m = Math.floor(care / 100) % 100;
  const d = Math.min(care % 100, daysInMonth(y, m));
  return y * 10_000 + m * 100 + d < claimed;
}

/** `careDate < addDays(start, days)` (a waiting period of `days` from `start`), for 0 ≤ days ≤ 36 500. */
export function beforeDaysAfter(careDate: IsoDate, start: IsoDate, days: number): boolean {
  const care = ymd(careDate);
  const from = ymd(start);
  if (care < 0 || from < 0 || !Number.isInteger(days) || days < 0 || days > 36_500 || from + 1_000_000 > 99_991_231) return careDate < addDays(start, days);
  const c = dayNumber(Math.floor(care / 10_000), Math.floor(care / 100) % 100, care % 100);
  const s = dayNumber(Math.floor(from / 10_000), Math.floor(from / 100) % 100, from % 100);
  return c < s + days;
}
