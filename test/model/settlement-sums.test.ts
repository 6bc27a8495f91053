import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { SettlementSums } from '../../src/model/settlement-sums.js';

type Value = { status: string; amcAmount: string; operation?: 'I' | 'A' };

/** The metrics' figures computed the plain way: per (status, operation), the count and Σ |amcAmount| with decimal.js. */
function reference(values: readonly Value[]): Record<string, { count: number; amount: string }> {
  const out: Record<string, { count: number; total: Decimal }> = {};
  for (const v of values) {
    const key = `${v.status}/${v.operation ?? 'I'}`;
    const g = (out[key] ??= { count: 0, total: new Decimal(0) });
    g.count += 1;
    g.total = g.total.plus(new Decimal(v.amcAmount).abs());
  }
  return Object.fromEntries(Object.entries(out).map(([k, g]) => [k, { count: g.count, amount: g.total.toFixed(2) }]));
}

const byKey = (sums: ReturnType<SettlementSums['sums']>) => Object.fromEntries(sums.map((s) => [`${s.status}/${s.operation}`, { count: s.count, amount: s.amount }]));

describe('SettlementSums', () => {
  // amounts past 2^53 cents too: the sum leaves integer cents for decimal.js
  const values: Value[] = [
    { status: 'paid', amcAmount: '8.17' },
    { status: 'paid', amcAmount: '42.51', operation: 'I' },
    { status: 'paid', amcAmount: '-8.17', operation: 'A' },
    { status: 'rejected', amcAmount: '0.00' },
    { status: 'review', amcAmount: '0.10' },
    { status: 'review', amcAmount: '0.20' },
    { status: 'paid', amcAmount: '90071992547409.93' },
    { status: 'paid', amcAmount: '0.07' },
    { status: 'paid', amcAmount: '-12.30', operation: 'A' },
  ];

  it('counts and sums |amcAmount| per (status, operation), exactly', () => {
    expect(byKey(new SettlementSums().addSettlements(values).sums())).toEqual(reference(values));
  });

  it('gives the same figures from partial sums (a worker per task) as from the settlements at once', () => {
    for (let cut = 0; cut <= values.length; cut++) {
      const first = new SettlementSums().addSettlements(values.slice(0, cut)).sums();
      const second = new SettlementSums().addSettlements(values.slice(cut)).sums();
      expect(byKey(new SettlementSums().addSums(first).addSums(second).sums())).toEqual(reference(values));
    }
  });

  it('leaves out a group whose amounts do not sum instead of throwing (metrics never stop a stage)', () => {
    const sums = new SettlementSums().addSettlements([...values, { status: 'odd', amcAmount: 'not a number' }]).sums();
    expect(byKey(sums)).toEqual(reference(values));
  });
});
