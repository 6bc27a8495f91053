import { Decimal } from 'decimal.js';
import { z } from 'zod';

/**
 * Money crosses every boundary (files, threads, bus) as a decimal string with two decimals,
 * never as a JS number: "12.30". Inside a computation it is a decimal.js `Decimal`.
 */
export const MONEY_PATTERN = /^-?\d{1,12}\.\d{2}$/;
export const MoneySchema = z.string().regex(MONEY_PATTERN, 'expected an amount with two decimals, e.g. "12.30"');
export type Money = z.infer<typeof MoneySchema>;

/** A decimal that is not money (a rate, a coefficient): plain decimal string. */
export const DecimalStringSchema = z.string().regex(/^-?\d{1,12}(\.\d{1,6})?$/, 'expected a decimal number, e.g. "70" or "1.5"');

export const ZERO = new Decimal(0);

export function dec(value: string | Decimal): Decimal {
  return value instanceof Decimal ? value : new Decimal(value);
}

/** Rounds to the cent, half up (away from zero on .5), as the contracts and domain.md §2 require. */
export function roundCents(value: Decimal): Decimal {
  return value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

export function formatMoney(value: Decimal): Money {
  // toFixed rounds with the mode it is given: one step, not a rounding then a format (hot path).
  return value.toFixed(2, Decimal.ROUND_HALF_UP);
}

/** Cents (integer string, as in fixed-length records) to a Money string, exact. */
export function centsToMoney(cents: string, negative = false): Money {
  const d = new Decimal(cents).dividedBy(100);
  return (negative ? d.negated() : d).toFixed(2);
}

/** Money to whole cents (as a decimal integer string). */
export function moneyToCents(value: Money | Decimal): string {
  return dec(value).times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).abs().toFixed(0);
}

export function sumMoney(values: Iterable<Money | Decimal>): Decimal {
  let total = ZERO;
  for (const v of values) total = total.plus(dec(v));
  return total;
}
