import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { PartTally, tallyRun } from '../../src/ingest/summary.js';
import type { ActLine } from '../../src/model/act-line.js';
import { formatMoney } from '../../src/model/money.js';

/**
 * The part summary sums amounts in whole cents (summary.ts `CentSum`) instead of decimal.js, and a
 * run of lines counted in the row decoder's worker (`tallyRun`) is added whole (`PartTally.run`).
 * Given lines with amounts of every size (up to the 12 integer digits MoneySchema allows, sums far
 * past 2^53 cents) and annulations, when they are tallied line by line and in runs cut anywhere,
 * then every figure is the decimal.js reference's (the summary as it was computed before).
 */
type Summed = Pick<ActLine, 'caisse' | 'decompteId' | 'operation' | 'expense' | 'roAmount'>;

/** a seeded generator: the same lines on every run */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function amount(r: () => number): string {
  const kind = r();
  const cents = kind < 0.1 ? 0 : kind < 0.2 ? Math.floor(r() * 100) : kind < 0.9 ? Math.floor(r() * 10_000_000) : 99_999_999_999_999 - Math.floor(r() * 1000);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function lines(n: number, seed: number): Summed[] {
  const r = rng(seed);
  const out: Summed[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ caisse: r() < 0.2 ? null : `01175100${Math.floor(r() * 3)}`, decompteId: `D${Math.floor(i / (1 + Math.floor(r() * 3)))}`, operation: r() < 0.3 ? 'A' : 'I', expense: amount(r), roAmount: amount(r) });
  }
  return out;
}

/** What the summary computed before: decimal.js sums, the same décompte rule. */
function reference(ls: Summed[]): { accepted: number; decomptes: number; expense: string; roAmount: string } {
  let expense = new Decimal(0);
  let ro = new Decimal(0);
  let decomptes = 0;
  let last: string | undefined;
  for (const l of ls) {
    const key = `${l.caisse ?? ''}\u0000${l.decompteId}`;
    if (key !== last) decomptes += 1;
    last = key;
    const sign = l.operation === 'A' ? -1 : 1;
    expense = expense.plus(new Decimal(l.expense).times(sign));
    ro = ro.plus(new Decimal(l.roAmount).times(sign));
  }
  return { accepted: ls.length, decomptes, expense: formatMoney(expense), roAmount: formatMoney(ro) };
}

const part = { file: 'f.csv', format: 'csv' as const };
const figures = (t: PartTally) => {
  const s = t.done(part);
  return { accepted: s.accepted, decomptes: s.decomptes, expense: s.expense, roAmount: s.roAmount };
};

describe('part summary in whole cents', () => {
  it('line by line: the decimal.js figures, on 20 000 lines of every size with annulations', () => {
    for (const seed of [1, 2, 3]) {
      const ls = lines(20_000, seed);
      const t = new PartTally();
      for (const l of ls) t.line(l as ActLine);
      expect(figures(t)).toEqual(reference(ls));
    }
  });

  it('in runs cut anywhere (and mixed with single lines): the same figures', () => {
    const ls = lines(20_000, 7);
    const r = rng(99);
    const t = new PartTally();
    for (let i = 0; i < ls.length; ) {
      const n = Math.floor(r() * 600);
      if (r() < 0.2) t.line(ls[i]! as ActLine), (i += 1);
      else {
        t.run(tallyRun(ls.slice(i, i + n)));
        i += n;
      }
    }
    expect(figures(t)).toEqual(reference(ls));
  });

  it('sums that net to zero or below: 0.00 and a leading minus, as decimal.js writes them', () => {
    const ls: Summed[] = [
      { caisse: null, decompteId: 'D1', operation: 'I', expense: '12.30', roAmount: '0.00' },
      { caisse: null, decompteId: 'D1', operation: 'A', expense: '12.30', roAmount: '0.05' },
    ];
    const t = new PartTally();
    t.run(tallyRun(ls));
    expect(figures(t)).toEqual({ ...reference(ls), expense: '0.00', roAmount: '-0.05' });
  });

  it('an amount not in its written form is read exactly (decimal.js), not as its digits', () => {
    const ls: Summed[] = [{ caisse: null, decompteId: 'D1', operation: 'I', expense: '1.5' as string, roAmount: '0012.34' }];
    const t = new PartTally();
    t.line(ls[0]! as ActLine);
    expect(figures(t)).toEqual({ accepted: 1, decomptes: 1, expense: '1.50', roAmount: '12.34' });
  });
});
