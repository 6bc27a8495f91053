/**
 * The TARGET2 (T2) calendar: the days SEPA credit transfers settle. Closed on Saturdays, Sundays,
 * 1 January, Good Friday, Easter Monday, 1 May, 25 and 26 December (ECB, the T2 closing days; no
 * national holiday counts: 14 July or 15 August are business days). A pain.001's requested
 * execution date on a closed day is refused or silently moved by banks, so the run asks for the
 * next open day itself. Dates are `YYYY-MM-DD`, computed in UTC (calendar arithmetic, no time zone).
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Easter Sunday of the Gregorian `year` (the anonymous Gregorian algorithm, Meeus/Jones/Butcher), as YYYY-MM-DD. */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function toUtcMs(date: string): number {
  const m = ISO_DATE.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) throw new RangeError(`"${date}" is not a calendar date (YYYY-MM-DD)`);
  return ms;
}

const DAY_MS = 86_400_000;
const plusDays = (date: string, days: number) => new Date(toUtcMs(date) + days * DAY_MS).toISOString().slice(0, 10);

/** Why T2 is closed on `date`, or null when it is a business day. */
export function target2ClosedReason(date: string): string | null {
  const weekday = new Date(toUtcMs(date)).getUTCDay();
  if (weekday === 6) return 'Saturday';
  if (weekday === 0) return 'Sunday';
  const monthDay = date.slice(5);
  if (monthDay === '01-01') return 'New Year’s Day';
  if (monthDay === '05-01') return 'Labour Day';
  if (monthDay === '12-25') return 'Christmas Day';
  if (monthDay === '12-26') return 'Boxing Day';
  const easter = easterSunday(Number(date.slice(0, 4)));
  if (date === plusDays(easter, -2)) return 'Good Friday';
  if (date === plusDays(easter, 1)) return 'Easter Monday';
  return null;
}

export const isTarget2BusinessDay = (date: string): boolean => target2ClosedReason(date) === null;

/**
 * `date` itself when T2 is open that day, else the next day it is (at most 4 days later: Good
 * Friday → Tuesday). Remembered per date: a statement asks it for every movement of every line,
 * and the runs' dates are few.
 */
export function nextTarget2BusinessDay(date: string): string {
  const known = NEXT_OPEN.get(date);
  if (known !== undefined) return known;
  let day = date;
  while (!isTarget2BusinessDay(day)) day = plusDays(day, 1);
  if (NEXT_OPEN.size >= 4096) NEXT_OPEN.clear(); // bounded: a long-running service sees new days
  NEXT_OPEN.set(date, day);
  return day;
}
const NEXT_OPEN = new Map<string, string>();
