import { pickProfessional } from './professionals.js';
import { D, choose, decompte, draft, tpOf } from './common.js';
import type { CareContext, Draft, Scenario } from './types.js';

/**
 * Dental care by basket: soins, 100 % Santé prostheses (within HLF), moderate-tariff (within HLF)
 * and free-tariff prostheses, periodontics, orthodontics (reimbursed under 16), implants. Acts the
 * RO does not reimburse (HN: implants, some prostheses and periodontics, adult orthodontics) are
 * declared by the dentist on the electronic claim and relayed with BR 0.
 */
const KIND_OF: Record<string, string> = {
  SDE: 'soins', D100S: 'prosthesis', INM: 'prosthesis', PAM: 'prosthesis', PPM: 'prosthesis', INL: 'prosthesis', PAL: 'prosthesis', PPL: 'prosthesis', PNR: 'prosthesis',
  TDS: 'perio', PDN: 'perio', TO: 'ortho', TON: 'ortho', IMP: 'implant',
};

export const dental: Scenario = (ctx) => {
  const { rng, focus } = ctx;
  const ps = pickProfessional(rng, 'dentist');
  const kind = (focus !== undefined ? KIND_OF[focus] : undefined) ?? rng.weighted([['soins', 50], ['prosthesis', 25], ['perio', 8], ['ortho', ctx.age < 16 ? 20 : 3], ['implant', ctx.age >= 30 ? 6 : 0]] as const);
  const lines: Draft[] = [];
  switch (kind) {
    case 'prosthesis':
      lines.push(prosthesis(ctx, choose(ctx, [['D100S', 35], ['PAM', 15], ['PPM', 15], ['PAL', 10], ['PPL', 10], ['INM', 5], ['INL', 5], ['PNR', 5]])));
      if (rng.chance(0.3)) lines.push(soins(ctx));
      break;
    case 'perio': {
      const code = choose(ctx, [['TDS', 60], ['PDN', 40]]);
      const br = code === 'TDS' ? rng.money('50.00', '160.00') : D(0);
      lines.push(draft(code, br, code === 'TDS' ? br.times(rng.int(100, 250)).dividedBy(100).toDecimalPlaces(2) : D(rng.int(80, 300))));
      break;
    }
    case 'ortho': {
      // Reimbursed orthodontics (a semester of treatment) starts before 16; later it is HN.
      const code = focus === 'TO' || focus === 'TON' ? focus : ctx.age < 16 ? 'TO' : 'TON';
      lines.push(draft(code, code === 'TO' ? D('193.50') : D(0), D(rng.int(500, 900))));
      break;
    }
    case 'implant':
      lines.push(draft('IMP', D(0), D(rng.int(900, 1500))));
      if (rng.chance(0.5)) lines.push(prosthesis(ctx, 'PPL'));
      break;
    default:
      for (let i = rng.int(1, 3); i > 0; i -= 1) lines.push(soins(ctx));
  }
  return [decompte(ctx, ps, lines, { tp: tpOf(rng, [['00', 50], ['15', 35], ['05', 15]]) })];
};

function soins(ctx: CareContext): Draft {
  const br = ctx.rng.pick([D('16.87'), D('25.06'), D('33.74'), D('40.97'), D('60.74'), D('81.94')]);
  return draft('SDE', br, br);
}

function prosthesis(ctx: CareContext, code: string): Draft {
  const { rng } = ctx;
  const inlay = code === 'INM' || code === 'INL';
  const br = code === 'PNR' ? D(0) : D(inlay ? '100.00' : '120.00');
  let expense;
  if (code === 'D100S') expense = D(rng.int(290, 500)); // within the HLF
  else if (code === 'PNR') expense = D(rng.int(300, 800));
  else if (code === 'INM' || code === 'PAM' || code === 'PPM') expense = D(rng.int(inlay ? 250 : 350, inlay ? 350 : 550)); // moderate: within HLF
  else expense = D(rng.int(inlay ? 350 : 550, inlay ? 700 : 1200));
  return draft(code, br, expense);
}
