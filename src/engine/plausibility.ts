import { Decimal } from 'decimal.js';
import type { ActLine } from '../model/act-line.js';
import { parseCents } from '../model/cents.js';
import { centsOf, formatCents, type NomenclatureEntry } from '../model/nomenclature.js';

/**
 * Is the line's arithmetic plausible for its act? A well-formed record can still carry an absurd
 * figure (a caisse's or a member's typo: expense 999 999 999 999.99 for a consultation); the engine
 * must never pay it automatically. Each failed check names the field and the bound; the line is
 * settled `review`, nothing consumed. Checks (bounds per act code, nomenclature.ts):
 * - quantity ≤ max_quantity; coefficient ≤ max_coefficient;
 * - expense ≤ quantity × max_unit_expense; br ≤ quantity × max_unit_br;
 * - ro_amount = br × ro_rate / 100 within one cent per unit. Why that tolerance: the RO rounds to
 *   the cent either once on the line (half a cent off at most) or per unit before multiplying by
 *   the quantity (half a cent per unit); one cent per unit covers both with room, and anything
 *   wider is not rounding but a different rate or base. The line's OWN rate is the reference (a
 *   majoration hors parcours or an ALD exoneration changes it, consistently with the amount). The
 *   actes lourds participation (24 €) arrives as its own PAV line at 0 %, the act line at 100 % on
 *   BR − 24: both are consistent; an act line whose RO amount silently deducts the 24 € is not.
 * Cheap on purpose (it runs on every line): integer cents compared as exact JS integers (Money has
 * at most 14 digits; bounds at most 11), no Decimal unless a check fails and the reason is written.
 */
export function implausibility(line: ActLine, entry: NomenclatureEntry): string | null {
  const b = entry.bounds;
  const q = line.quantity;
  const expense = moneyCents(line.expense);
  const br = moneyCents(line.br);
  // Every check passed (nearly every line): said without building anything — no list, no closure,
  // no text (the kernel calls this on every line). The same tests as below, negated as written
  // there, so a NaN figure takes the slow path exactly as before.
  if (!(q > b.quantity) && !(Number(line.coefficient) > b.coefficient) && !(expense > b.unitExpenseCents * q) && !(br > b.unitBrCents * q) && roConsistent(br, line.roRate, moneyCents(line.roAmount), q)) return null;
  const problems: string[] = [];
  const whose = (column: string, own: unknown) => `${column} of act ${entry.actCode}${own === null ? ` (default of ${b.family})` : ''}`;
  if (q > b.quantity) problems.push(`quantity ${q} is above ${b.quantity}, the ${whose('max_quantity', entry.maxQuantity)}`);
  if (Number(line.coefficient) > b.coefficient) problems.push(`coefficient ${line.coefficient} is above ${b.coefficient}, the ${whose('max_coefficient', entry.maxCoefficient)}`);
  if (expense > b.unitExpenseCents * q) {
    problems.push(`expense ${line.expense} is above ${q} × ${formatCents(b.unitExpenseCents)} = ${formatCents(b.unitExpenseCents * q)}, the ${whose('max_unit_expense', entry.maxUnitExpense)} per ${entry.unit}`);
  }
  if (br > b.unitBrCents * q) problems.push(`br ${line.br} is above ${q} × ${formatCents(b.unitBrCents)} = ${formatCents(b.unitBrCents * q)}, the ${whose('max_unit_br', entry.maxUnitBr)} per ${entry.unit}`);
  if (!roConsistent(br, line.roRate, moneyCents(line.roAmount), q)) {
    const expected = new Decimal(line.br).times(line.roRate).dividedBy(100).toFixed(2, Decimal.ROUND_HALF_UP);
    problems.push(`ro_amount ${line.roAmount} is not br ${line.br} × ro_rate ${line.roRate} % = ${expected} (tolerance ${formatCents(q)}: one cent per unit of rounding)`);
  }
  if (problems.length === 0) return null;
  return `implausible figures for act ${entry.actCode}: ${problems.join('; ')}; check the record with its sender, correct it, then replay the line`;
}

/** nomenclature.ts centsOf (the text without its dot, as a number), read digit by digit for a Money string (no new string). */
function moneyCents(money: string): number {
  const c = parseCents(money);
  return Number.isNaN(c) ? centsOf(money) : c;
}

/** |ro × 100 − br × rate| ≤ quantity × 100, in cents × percent; exact integers, BigInt only past 2^53. */
function roConsistent(brCents: number, rate: string, roCents: number, quantity: number): boolean {
  const dot = rate.indexOf('.');
  const digits = dot < 0 ? 0 : rate.length - dot - 1;
  const scaledRate = dot < 0 ? Number(rate) : Number(rate.slice(0, dot) + rate.slice(dot + 1));
  const scale = 10 ** digits;
  const product = brCents * scaledRate;
  const target = roCents * 100 * scale;
  const tolerance = quantity * 100 * scale;
  if (Number.isSafeInteger(product) && Number.isSafeInteger(target)) return Math.abs(target - product) <= tolerance;
  const diff = BigInt(roCents) * 100n * BigInt(scale) - BigInt(brCents) * BigInt(scaledRate);
  return (diff < 0n ? -diff : diff) <= BigInt(tolerance);
}
