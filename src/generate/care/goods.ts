import { pickProfessional } from './professionals.js';
import { LETTER, cents, choose, daysBefore, decompte, draft, tpOf } from './common.js';
import type { Rng } from '../prng.js';
import type { Draft, Scenario } from './types.js';

/** Pharmacy, medical devices, paramedical series, transport and spa cures. */

export const pharmacy: Scenario = (ctx) => {
  const { rng } = ctx;
  const ps = pickProfessional(rng, 'pharmacy');
  const n = ctx.focus !== undefined ? 1 : rng.weighted([[1, 35], [2, 30], [3, 20], [4, 10], [5, 5]] as const);
  const lines: Draft[] = [];
  for (let i = 0; i < n; i += 1) {
    const code = i === 0 ? choose(ctx, [['PH7', 55], ['PH4', 20], ['PH2', 10], ['TAB', ctx.age >= 18 ? 3 : 0], ['VAC', 5], ['LPA', 7]]) : rng.weighted([['PH7', 60], ['PH4', 22], ['PH2', 12], ['LPA', 6]] as const);
    lines.push(pharmacyLine(ctx.rng, code));
  }
  return [decompte(ctx, ps, lines, { tp: tpOf(rng, [['15', 60], ['05', 30], ['00', 10]]), payDelay: rng.int(1, 6) })];
};

function pharmacyLine(rng: Rng, code: string): Draft {
  const range: Record<string, [string, string, number]> = {
    PH7: ['1.50', '45.00', 3],
    PH4: ['2.00', '25.00', 3],
    PH2: ['2.00', '15.00', 2],
    TAB: ['20.00', '40.00', 2],
    VAC: ['9.50', '40.00', 1],
    LPA: ['5.00', '80.00', 2],
  };
  const [lo, hi, maxBoxes] = range[code] ?? ['5.00', '30.00', 1];
  const quantity = rng.int(1, maxBoxes);
  const br = rng.money(lo, hi).times(quantity);
  // Devices may be sold above their LPP tariff; drugs never are.
  const expense = code === 'LPA' && rng.chance(0.3) ? br.times(rng.int(105, 140)).dividedBy(100) : br;
  return draft(code, br, cents(expense), { quantity });
}

export const appliance: Scenario = (ctx) => {
  const { rng } = ctx;
  const lines: Draft[] = [];
  for (let i = rng.int(1, 2); i > 0; i -= 1) {
    const br = rng.money('30.00', '600.00');
    lines.push(draft('LPA', br, cents(br.times(rng.int(100, 140)).dividedBy(100))));
  }
  return [decompte(ctx, pickProfessional(rng, 'supplier'), lines, { tp: tpOf(rng, [['15', 50], ['05', 30], ['00', 20]]) })];
};

export const paramedical: Scenario = (ctx) => {
  const { rng } = ctx;
  const code = choose(ctx, [['AMK', 55], ['AMI', 45]]);
  const quantity = code === 'AMK' ? rng.int(1, 10) : rng.int(1, 15);
  const coefficient = code === 'AMK' ? rng.pick(['7.5', '8', '9.5']) : rng.pick(['1', '1.5', '2', '3', '4']);
  const perAct = cents(LETTER[code === 'AMK' ? 'AMK' : 'AMI'].times(coefficient));
  const br = perAct.times(quantity);
  // A series: two to four days between sessions (nurses come daily).
  const span = quantity <= 1 ? 0 : (quantity - 1) * (code === 'AMK' ? rng.int(2, 4) : 1);
  const careStart = daysBefore(ctx.date, span);
  return [
    decompte(ctx, pickProfessional(rng, code === 'AMK' ? 'physio' : 'nurse'), [draft(code, br, br, { quantity, coefficient })], {
      careStart,
      tp: tpOf(rng, [['05', 50], ['15', 30], ['00', 20]]),
      accident: code === 'AMK' && rng.chance(0.1),
    }),
  ];
};

export const transport: Scenario = (ctx) => {
  const { rng } = ctx;
  const code = choose(ctx, [['TAX', 50], ['VSL', 25], ['AMB', 25]]);
  const range: Record<string, [string, string]> = { TAX: ['20.00', '150.00'], VSL: ['30.00', '90.00'], AMB: ['60.00', '350.00'] };
  const [lo, hi] = range[code] ?? ['20.00', '100.00'];
  const trips = rng.chance(0.6) ? 2 : 1; // outward and return, the same day
  const lines: Draft[] = [];
  for (let i = 0; i < trips; i += 1) {
    const br = rng.money(lo, hi);
    lines.push(draft(code, br, br));
  }
  return [decompte(ctx, pickProfessional(rng, 'transport'), lines, { tp: tpOf(rng, [['05', 70], ['15', 20], ['00', 10]]), accident: rng.chance(0.2) })];
};

export const spa: Scenario = (ctx) => {
  const { rng } = ctx;
  const br = rng.money('400.00', '650.00');
  // A cure lasts 18 days of care.
  return [decompte(ctx, pickProfessional(rng, 'spa'), [draft('STH', br, br)], { careStart: daysBefore(ctx.date, 20), tp: tpOf(rng, [['05', 50], ['00', 50]]) })];
};
