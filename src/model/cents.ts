import { Decimal } from 'decimal.js';
import { formatMoney } from './money.js';

/**
 * Exact money sums in integer cents, for the hot paths that only add and subtract Money strings
 * ("12.30"): a Money string is at most 12 integer digits, so its cents (≤ 10^14) and any sum that
 * stays a safe integer (|s| < 2^53 ≈ 9·10^15) are exact JS integers — no float arithmetic on
 * fractions ever happens. Anything else (a string that is not Money, a sum leaving the safe range)
 * goes through decimal.js, so the result is always the exact one, formatted like `formatMoney`.
 */
const MONEY = /^(-?)(\d{1,12})\.(\d{2})$/;

/** The Money string's cents, or null when it is not a Money string (two decimals, ≤ 12 digits). */
export function centsOf(money: string): number | null {
  const m = MONEY.exec(money);
  if (m === null) return null;
  const cents = Number(m[2]) * 100 + Number(m[3]);
  return m[1] === '-' && cents !== 0 ? -cents : cents;
}

/** Cents back to a Money string ("-1234.05"); a non-safe integer is refused (never rounded). */
export function moneyOfCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) throw new RangeError(`${cents} is not a whole number of cents`);
  const abs = Math.abs(cents);
  const frac = abs % 100;
  return `${cents < 0 ? '-' : ''}${(abs - frac) / 100}.${frac < 10 ? '0' : ''}${frac}`;
}

/** Σ of Money strings (or cents), as Money: integer cents, decimal.js when a value is not Money or the sum is too large. */
export function sumMoney(values: Iterable<string | number>): string {
  let total = 0;
  const rest: (string | number)[] = [];
  for (const v of values) {
    const c = typeof v === 'number' ? v : centsOf(v);
    const next = c === null ? Number.NaN : total + c;
    if (Number.isSafeInteger(next) && Number.isSafeInteger(c)) total = next;
    else rest.push(v);
  }
  if (rest.length === 0) return moneyOfCents(total);
  return formatMoney(rest.reduce<Decimal>((s, v) => s.plus(typeof v === 'number' ? new Decimal(v).dividedBy(100) : v), new Decimal(total).dividedBy(100)));
}
