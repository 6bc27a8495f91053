/**
 * Money as exact integer cents on the decider's hot path (a pair's comparison, the amount owed, an
 * indu's difference): the same results as decimal.js, without a Decimal per amount (≈ 5 objects
 * and a parse per pair). Only amounts in the canonical form take this path — not negative, no
 * leading zero, two decimals, at most 12 digits before the point — so the cents are an integer
 * below 10^14, exact in a double, and `formatCents(centsOf(m)) === m`; any other text (never seen
 * on the bus, whose schemas ask for two decimals) returns undefined and the caller keeps Decimal.
 */
const CANONICAL = /^(?:0|[1-9]\d{0,11})\.\d\d$/;

export function centsOf(money: string): number | undefined {
  if (!CANONICAL.test(money)) return undefined;
  const dot = money.length - 3;
  return Number(money.slice(0, dot)) * 100 + Number(money.slice(dot + 1));
}

/** Cents ≥ 0 back to Money ("1230" → "12.30"). */
export function formatCents(cents: number): string {
  const frac = cents % 100;
  return `${(cents - frac) / 100}.${frac < 10 ? '0' : ''}${frac}`;
}
