import { pickProfessional } from './professionals.js';
import { D, choose, decompte, draft, tpOf } from './common.js';
import type { Draft, Scenario } from './types.js';

/**
 * Optics (frame + one lens per eye, class A 100 % Santé or class B with its 0.05 € BR, extras,
 * contact lenses, refractive surgery) and hearing aids (one line per ear). `side` is R or L for
 * anything that belongs to one eye or ear.
 */

const CLASS_A = new Set(['2201001', '2201011']);
const LENS_B: Record<string, [string, string]> = {
  '2202011': ['60.00', '180.00'],
  '2202012': ['150.00', '350.00'],
  '2202013': ['220.00', '450.00'],
};
const OPTICS_EXTRAS = new Set(['2202020', '2202030', '2202040']);

export const optics: Scenario = (ctx) => {
  const { rng, focus } = ctx;
  const ps = pickProfessional(rng, 'optician');
  const tp = tpOf(rng, [['15', 60], ['25', 10], ['00', 30]]);
  if (focus === '2202050' || (focus === undefined && rng.chance(0.1))) {
    // Contact lenses: the RO's yearly forfait per eye.
    const lines = (['R', 'L'] as const).map((side) => draft('2202050', D('39.48'), D(rng.int(60, 200)), { side, quantity: rng.int(1, 2) }));
    return [decompte(ctx, ps, lines, { tp })];
  }
  const classA = focus !== undefined ? CLASS_A.has(focus) : rng.chance(0.25);
  const lines: Draft[] = [];
  if (classA) {
    // 100 % Santé: billed at the PLV, no rest to pay.
    lines.push(draft('2201001', D('9.00'), D('30.00')));
    for (const side of ['R', 'L'] as const) lines.push(draft('2201011', D('9.90'), D('32.50'), { side }));
  } else {
    lines.push(draft('2202001', D('0.05'), D(rng.int(60, 350))));
    const complexity = choose(ctx, [['2202011', 55], ['2202012', 30], ['2202013', 15]]);
    for (const side of ['R', 'L'] as const) {
      const [lo, hi] = LENS_B[complexity] ?? ['60.00', '180.00'];
      lines.push(draft(complexity, D('0.05'), rng.money(lo, hi), { side }));
    }
    // at most two extras (five lines a décompte), the focused one first
    const extras = [...OPTICS_EXTRAS].filter((c) => c === focus || rng.chance(c === '2202040' ? 0.05 : 0.15)).sort((a, b) => Number(b === focus) - Number(a === focus));
    for (const code of extras.slice(0, 2)) {
      if (code === '2202020') lines.push(draft(code, D('6.00'), D('10.00')));
      else if (code === '2202030') lines.push(draft(code, D('0.05'), D(rng.int(20, 60))));
      else lines.push(draft(code, D('4.57'), D(rng.int(10, 30))));
    }
  }
  return [decompte(ctx, ps, lines, { tp })];
};

export const refractiveSurgery: Scenario = (ctx) => {
  const { rng } = ctx;
  const sides = rng.chance(0.8) ? (['R', 'L'] as const) : ([rng.pick(['R', 'L'] as const)] as const);
  const lines = sides.map((side) => draft('CRF', D(0), D(rng.int(900, 1800)), { side }));
  return [decompte(ctx, pickProfessional(rng, 'ophthalmologist'), lines, { tp: '00' })];
};

export const hearing: Scenario = (ctx) => {
  const { rng, focus } = ctx;
  const ps = pickProfessional(rng, 'audiologist');
  const tp = tpOf(rng, [['15', 65], ['25', 10], ['00', 25]]);
  if (focus === '2355010' || (focus === undefined && rng.chance(0.2))) {
    return [decompte(ctx, ps, [draft('2355010', D('36.00'), D(rng.int(36, 60)))], { tp })];
  }
  // The BR of an aid is 400 € from age 20, 1 400 € before; class I (fitted from 20 here) is sold at its PLV.
  const young = ctx.age < 20;
  const code = choose(ctx, [['2355001', young ? 0 : 40], ['2355002', 60]]);
  const ears = rng.chance(0.7) ? (['R', 'L'] as const) : ([rng.pick(['R', 'L'] as const)] as const);
  const br = D(young ? '1400.00' : '400.00');
  const plv = D(ctx.nom.has('2355001') ? (ctx.nom.get('2355001').attributes.price_limit ?? '950.00') : '950.00');
  const lines = ears.map((side) => {
    const expense = code === '2355001' ? plv : D(rng.int(young ? 1400 : 1100, young ? 1800 : 2300));
    return draft(code, br, expense, { side });
  });
  return [decompte(ctx, ps, lines, { tp })];
};
