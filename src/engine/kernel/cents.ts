/**
 * Integer cents: the kernel's money. A Money string ("12.30") is read as the integer 1230, exact
 * in a JS number (Money has at most 14 digits, far below 2^53); a rate or percentage ("70",
 * "1.46") as an integer numerator over a power of ten. Every product is checked to stay a safe
 * integer: the caller falls back to the decimal.js path when one does not (never a float euro).
 * Rounding is decimal.js's ROUND_HALF_UP (away from zero on .5), the engine's rule (money.ts).
 */

const RATE = /^-?\d{1,12}(\.\d{1,6})?$/;

// Money string ↔ cents: one implementation for the whole project (src/model/cents.ts).
import { formatCents } from '../../model/cents.js';
export { parseCents as cents } from '../../model/cents.js';

// The printed amounts from 0.00 to 1 310.71, each printed once and then shared (see `money`).
const SHARED_MONEY = 1 << 17;
// Filled with undefined up front: a fast (not dictionary) elements store for any index.
const moneyTexts: (string | undefined)[] = new Array<string | undefined>(SHARED_MONEY).fill(undefined);

/**
 * Cents → Money text (model/cents.ts formatCents, decimal.js toFixed(2)'s printing). An amount
 * below 1 310.72 € is printed once per process and the same string is returned after: a line
 * prints ≈ 15 amounts (its settlement's and ledger record's fields, every figure of its formula)
 * and most are small and repeated (25.00, 7.50, 0.00…). What that saves is the printing and, above
 * all, the copy: an amount kept in a settlement or a ledger is a pointer to a string already in the
 * old generation instead of a new string every young-generation GC copies. A memo of a pure
 * function (same text for the same number), bounded (one array of 2^17 slots): not engine state.
 */
export function money(c: number): string {
  if ((c >>> 0) === c && c < SHARED_MONEY) {
    let text = moneyTexts[c];
    if (text === undefined) {
      text = formatCents(c);
      moneyTexts[c] = text;
    }
    return text;
  }
  return formatCents(c);
}

/** A decimal rate as `num / den` (den a power of ten); undefined when it is not a decimal string. */
export interface Ratio {
  num: number;
  den: number;
}

export function ratio(text: string): Ratio | undefined {
  if (!RATE.test(text)) return undefined;
  const dot = text.indexOf('.');
  if (dot < 0) return { num: Number(text), den: 1 };
  const decimals = text.length - dot - 1;
  return { num: Number(text.slice(0, dot) + text.slice(dot + 1)), den: 10 ** decimals };
}

/** n / d rounded half up (away from zero), exact for safe integers n and d > 0. */
export function divHalfUp(n: number, d: number): number {
  if (n < 0) return -divHalfUp(-n, d);
  const r = n % d;
  const q = (n - r) / d;
  return 2 * r >= d ? q + 1 : q;
}

/** `pct` % of `base` cents, rounded to the cent half up (terms.ts `pctOf`); NaN past 2^53. */
export function pctOfCents(pct: Ratio, base: number): number {
  const n = pct.num * base;
  return Number.isSafeInteger(n) ? divHalfUp(n, pct.den * 100) : Number.NaN;
}

/** a < b as decimal rates (same meaning as Decimal#lt). */
export function ratioLt(a: Ratio, b: Ratio): boolean {
  return a.num * b.den < b.num * a.den;
}

/**
 * The text itself, its V8 representation made flat (pino's `flatstr` habit): a text built by
 * concatenation is a tree of string pieces, and a settlement's formula or reason is kept (in the
 * settlement, the ledger) while every piece of the tree would be copied by each young-generation GC.
 * Converting to a number flattens the string in place; the pieces then die young. No effect on the
 * value.
 */
export function flat(text: string): string {
  Number(text);
  return text;
}
