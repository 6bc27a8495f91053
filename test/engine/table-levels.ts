import { Decimal } from 'decimal.js';
import { expect } from 'vitest';
import type { ActLine } from '../../src/model/act-line.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { Settlement } from '../../src/model/settlement.js';
import { BASE, OPT1, OPT2, partsOf, person, settle } from './helpers.js';

/**
 * The three CCN levels of one table line, checked against amounts computed by hand:
 * - each level alone pays its total (option cells are totals including the Base);
 * - layered on the Base ("sous déduction de la base conventionnelle"), the socle pays the Base
 *   amount and the surco the rest: `opt1: [socle, surco]`, both written by hand in the test.
 * Every settlement also keeps expense = RO net + AMC + rest to pay.
 */
export interface LevelAmounts {
  base: string;
  opt1: readonly [socle: string, surco: string];
  opt2: readonly [socle: string, surco: string];
}

export interface LevelSettlements {
  base: Settlement;
  opt1Alone: Settlement;
  opt2Alone: Settlement;
  opt1: Settlement;
  opt2: Settlement;
}

const sum = (a: string, b: string) => new Decimal(a).plus(b).toFixed(2);

function balanced(s: Settlement): void {
  expect(new Decimal(s.roAmount).plus(s.amcAmount).plus(s.restToPay).toFixed(2)).toBe(s.expense);
}

export function expectLevels(l: ActLine, expected: LevelAmounts, who: Partial<Beneficiary> = {}): LevelSettlements {
  const at = (contracts: string[]) => settle(l, person({ ...who, contracts }));
  const out: LevelSettlements = {
    base: at([BASE]),
    opt1Alone: at([OPT1]),
    opt2Alone: at([OPT2]),
    opt1: at([BASE, OPT1]),
    opt2: at([BASE, OPT2]),
  };
  expect(out.base.amcAmount, 'Base alone').toBe(expected.base);
  expect(out.opt1Alone.amcAmount, 'Option 1 alone').toBe(sum(...expected.opt1));
  expect(out.opt2Alone.amcAmount, 'Option 2 alone').toBe(sum(...expected.opt2));
  expect(partsOf(out.opt1), 'Base + Option 1').toEqual([`${BASE}=${expected.opt1[0]}`, `${OPT1}=${expected.opt1[1]}`]);
  expect(partsOf(out.opt2), 'Base + Option 2').toEqual([`${BASE}=${expected.opt2[0]}`, `${OPT2}=${expected.opt2[1]}`]);
  expect(out.opt1.amcAmount).toBe(sum(...expected.opt1));
  expect(out.opt2.amcAmount).toBe(sum(...expected.opt2));
  Object.values(out).forEach(balanced);
  return out;
}
