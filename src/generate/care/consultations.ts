import type { Decimal } from 'decimal.js';
import { pickProfessional } from './professionals.js';
import { CS_FEE, D, LETTER, apcFee, choose, decompte, draft, fees, gFee, tpOf } from './common.js';
import type { CareContext, DecompteDraft, Draft, Scenario } from './types.js';

/** Doctors' consultations and acts, biology, midwives: the bulk of a caisse drop. */

/** TCG (téléconsultation) is a real NGAP code the nomenclature does not list: an "unmapped act code" the engine must flag. */
export const UNMAPPED_CODE = 'TCG';

export const gp: Scenario = (ctx) => {
  const { rng } = ctx;
  const ps = pickProfessional(rng, 'gp');
  const code = ctx.focus === UNMAPPED_CODE ? UNMAPPED_CODE : choose(ctx, [['G', ctx.age >= 75 ? 70 : 95], ['VG', ctx.age >= 75 ? 30 : 5]]);
  // A visit is the consultation plus the home-visit majoration (MD, 10 €).
  const br = gFee(ctx.date).plus(code === 'VG' ? '10.00' : '0');
  const lines: Draft[] = [draft(code, br, fees(rng, ps, br))];
  if (rng.chance(0.06)) lines.push(draft('ATM', D('14.26'), D('14.26'))); // ECG
  // Seeing a GP who is not one's médecin traitant without a reason: hors parcours (adults only).
  const outside = ctx.age >= 16 && rng.chance(0.03);
  if (outside) for (const l of lines) l.roRate = '30';
  return [decompte(ctx, ps, lines, { tp: tpOf(rng, [['00', 70], ['05', 22], ['15', 8]]), pathway: outside ? 'H' : 'I' })];
};

export const specialist: Scenario = (ctx) => {
  const { rng } = ctx;
  const ps = pickProfessional(rng, 'specialist');
  const code = choose(ctx, [['CS', 85], ['APC', 15]]);
  const br = code === 'APC' ? apcFee(ctx.date) : CS_FEE;
  const lines: Draft[] = [draft(code, br, fees(rng, ps, br))];
  if (rng.chance(0.3)) lines.push(secondAct(ctx, ps.specialty));
  // Direct access (no GP referral needed): gynaecology, ophthalmology, paediatrics, psychiatry under 26.
  const direct = ['07', '15', '12'].includes(ps.specialty ?? '') || (ps.specialty === '33' && ctx.age < 26);
  let pathway: DecompteDraft['pathway'] = direct ? 'U' : 'I';
  if (!direct && code === 'CS' && ctx.age >= 16 && rng.chance(0.15)) {
    pathway = 'H';
    for (const l of lines) l.roRate = '30';
  }
  return [decompte(ctx, ps, lines, { tp: tpOf(rng, [['00', 75], ['05', 15], ['15', 10]]), pathway })];
};

function secondAct(ctx: CareContext, specialty: string | null): Draft {
  const { rng } = ctx;
  switch (specialty) {
    case '03':
      return draft('ATM', D('14.26'), D('14.26'));
    case '05': {
      const br = rng.money('28.80', '60.00');
      return draft('ATM', br, br);
    }
    case '07':
      return draft('ADE', D('56.70'), D('56.70'));
    case '15':
      return draft('ATM', D('28.00'), D('28.00'));
    default: {
      const coefficient = rng.pick(['5', '10', '15', '20']);
      const br = LETTER.K.times(coefficient);
      return draft('K', br, br, { coefficient });
    }
  }
}

export const technicalAct: Scenario = (ctx) => {
  const { rng } = ctx;
  const childbearing = ctx.person.sex === 2 && ctx.age >= 18 && ctx.age <= 45;
  const code = choose(ctx, [['K', 30], ['ATM', 30], ['ADC', 25], ['ADA', 8], ['ACO', childbearing ? 7 : 0], ['PAV', 0]]);
  const kind = code === 'ADC' || code === 'PAV' ? 'surgeon' : code === 'ADA' ? 'anaesthetist' : code === 'ACO' ? 'gynaecologist' : 'specialist';
  const ps = pickProfessional(rng, kind);
  let br: Decimal;
  let coefficient = '1';
  switch (code) {
    case 'K':
      coefficient = rng.pick(['10', '15', '20', '30', '50']);
      br = LETTER.K.times(coefficient);
      break;
    case 'ATM':
      br = rng.money('20.00', '110.00');
      break;
    case 'ADA':
      br = rng.money('50.00', '250.00');
      break;
    case 'ACO':
      br = rng.money('90.00', '380.00');
      break;
    default:
      br = code === 'PAV' ? rng.money('150.00', '420.00') : rng.money('40.00', '420.00');
  }
  const actCode = code === 'PAV' ? 'ADC' : code;
  return [decompte(ctx, ps, heavyActSplit(actCode, br, fees(rng, ps, br), coefficient), { tp: tpOf(rng, [['00', 65], ['05', 15], ['15', 20]]) })];
};

/**
 * Actes lourds (≥ 120 €): the RO pays 100 % and the patient owes a flat 24 € participation instead
 * of the ticket modérateur, which responsible contracts cover. Written as two lines that add up to
 * the act: the act at 100 % on BR − 24 (keeping the whole dépassement), and a PAV line of 24 € that
 * the RO does not pay. Sums of FR, BR and RO stay exact.
 */
export function heavyActSplit(actCode: string, br: Decimal, expense: Decimal, coefficient = '1'): Draft[] {
  if (br.lessThan(120)) return [draft(actCode, br, expense, { coefficient })];
  const participation = D('24.00');
  return [
    draft(actCode, br.minus(participation), expense.minus(participation), { coefficient, roRate: '100' }),
    draft('PAV', participation, participation),
  ];
}

export const imaging: Scenario = (ctx) => {
  const { rng } = ctx;
  const ps = pickProfessional(rng, 'radiologist');
  const code = choose(ctx, [['ADI', 60], ['ADE', 40]]);
  const br = code === 'ADI' ? rng.money('19.95', '110.00') : rng.pick([D('56.70'), D('75.60'), D('39.69')]);
  const lines = [draft(code, br, fees(rng, ps, br))];
  if (rng.chance(0.15)) lines.push(draft(code === 'ADI' ? 'ADE' : 'ADI', D('39.90'), D('39.90')));
  return [decompte(ctx, ps, lines, { tp: tpOf(rng, [['00', 50], ['05', 40], ['15', 10]]) })];
};

export const lab: Scenario = (ctx) => {
  const { rng } = ctx;
  const ps = pickProfessional(rng, 'lab');
  const n = rng.int(1, 4);
  const lines: Draft[] = [];
  for (let i = 0; i < n; i += 1) {
    const coefficient = rng.pick(['7', '10', '13', '17', '20', '24', '30', '35', '46', '52', '70', '100']);
    const br = LETTER.B.times(coefficient);
    lines.push(draft('B', br, br, { coefficient }));
  }
  return [decompte(ctx, ps, lines, { tp: tpOf(rng, [['05', 60], ['15', 25], ['00', 15]]) })];
};

export const midwife: Scenario = (ctx) => {
  const { rng } = ctx;
  const coefficient = rng.pick(['8.5', '9', '12', '15']);
  const br = LETTER.SF.times(coefficient);
  return [decompte(ctx, pickProfessional(rng, 'midwife'), [draft('SF', br, br, { coefficient })], { tp: tpOf(rng, [['00', 60], ['05', 40]]) })];
};

export const osteodensitometry: Scenario = (ctx) => {
  const ps = pickProfessional(ctx.rng, 'radiologist');
  const br = D('39.96');
  return [decompte(ctx, ps, [draft('OST', br, fees(ctx.rng, ps, br))])];
};
