import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { formatMoney } from '../../src/model/money.js';
import { centsOf, formatCents } from '../../src/model/cents.js';
import { withinTolerance } from '../../src/reconcile/match.js';

/** The decider's integer cents (model/cents.ts) give what decimal.js gave, to the byte, or step aside. */
describe('reconciliation amounts in integer cents', () => {
  const amounts = ['0.00', '0.01', '0.09', '0.10', '1.00', '19.00', '19.01', '25.00', '100.50', '999999999999.99', '123456789012.34'];
  let seed = 5;
  for (let i = 0; i < 400; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const cents = seed % 10_000_000;
    amounts.push(new Decimal(cents).dividedBy(100).toFixed(2));
  }

  it('reads a canonical amount as its exact cents and writes them back as the same text', () => {
    for (const m of amounts) {
      const c = centsOf(m)!;
      expect(Number.isSafeInteger(c)).toBe(true);
      expect(c).toBe(new Decimal(m).times(100).toNumber());
      expect(formatCents(c)).toBe(m);
      expect(formatMoney(new Decimal(m))).toBe(m);
    }
  });

  it('reads a negative or zero-led amount exactly, and leaves a text that is not Money to decimal.js', () => {
    expect(centsOf('-1.00')).toBe(-100);
    expect(Object.is(centsOf('-0.00'), 0)).toBe(true);
    expect(centsOf('01.00')).toBe(100);
    for (const m of ['1.0', '1', '1.000', '1e3', '', ' 1.00', '1234567890123.00']) expect(centsOf(m)).toBeNull();
  });

  it('compares within a tolerance and takes differences exactly as decimal.js does', () => {
    const tolerances = ['0.00', '0.01', '0.05', '1.00'];
    for (let i = 0; i < amounts.length - 1; i++) {
      const [a, b] = [amounts[i]!, amounts[i + 1]!];
      for (const t of tolerances) expect(withinTolerance(a, b, t)).toBe(new Decimal(a).minus(b).abs().lte(t));
      const [hi, lo] = new Decimal(a).gt(b) ? [a, b] : [b, a];
      expect(formatCents(centsOf(hi)! - centsOf(lo)!)).toBe(formatMoney(new Decimal(hi).minus(lo)));
    }
    // decimal.js still answers for a text outside the canonical form
    expect(withinTolerance('19.0', '19.00', '0.00')).toBe(true);
    expect(withinTolerance('-1.00', '1.00', '1.99')).toBe(false);
  });
});
