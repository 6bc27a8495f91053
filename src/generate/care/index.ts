import type { Nomenclature } from '../nomenclature.js';
import type { Person } from '../population.js';
import type { Rng } from '../prng.js';
import { D, decompte, draft } from './common.js';
import { UNMAPPED_CODE, gp, imaging, lab, midwife, osteodensitometry, specialist, technicalAct } from './consultations.js';
import { dental } from './dental.js';
import { hearing, optics, refractiveSurgery } from './equipment.js';
import { appliance, paramedical, pharmacy, spa, transport } from './goods.js';
import { hospitalStay } from './hospital.js';
import { pickProfessional } from './professionals.js';
import type { CareContext, Scenario } from './types.js';

/**
 * Which kind of care happens to whom: scenario weights by age and sex, and the act code → scenario
 * table the poste rotation uses. Codes of the nomenclature this table does not know (added later)
 * fall to `generic`, so they are generated too.
 */
export const SCENARIOS = {
  gp, specialist, technicalAct, imaging, lab, midwife, osteodensitometry, pharmacy, appliance, paramedical, transport, spa,
  hospitalStay, optics, refractiveSurgery, hearing, dental,
  generic: ((ctx) => {
    const e = ctx.nom.has(ctx.focus ?? '') ? ctx.nom.get(ctx.focus ?? '') : undefined;
    const br = e?.roReimbursed ? ctx.rng.money('10.00', '120.00') : D(0);
    const expense = e?.roReimbursed ? br : ctx.rng.money('20.00', '200.00');
    return [decompte(ctx, pickProfessional(ctx.rng, 'supplier'), [draft(ctx.focus ?? 'G', br, expense)])];
  }) as Scenario,
} satisfies Record<string, Scenario>;
export type ScenarioName = keyof typeof SCENARIOS;

/** Postes a caisse never relays: the member sends an invoice (formats.md §2), see invoices.ts. */
export const INVOICE_ONLY_POSTES = new Set([
  'divers.medecine_preventive', 'divers.dieteticien', 'divers.prime_naissance', 'divers.depistage_osteoporose',
  'soins.vaccins_non_rembourses', 'optique.lentilles_non_remboursees',
]);

const BY_CODE: Record<string, ScenarioName> = {
  G: 'gp', VG: 'gp', [UNMAPPED_CODE]: 'gp', CS: 'specialist', APC: 'specialist',
  K: 'technicalAct', ADC: 'technicalAct', ATM: 'technicalAct', ADA: 'technicalAct', ACO: 'technicalAct', PAV: 'technicalAct',
  ADI: 'imaging', ADE: 'imaging', B: 'lab', SF: 'midwife', OST: 'osteodensitometry',
  PH7: 'pharmacy', PH4: 'pharmacy', PH2: 'pharmacy', TAB: 'pharmacy', VAC: 'pharmacy', LPA: 'appliance',
  AMK: 'paramedical', AMI: 'paramedical', TAX: 'transport', VSL: 'transport', AMB: 'transport', STH: 'spa', CRF: 'refractiveSurgery',
};
const BY_POSTE_PREFIX: readonly [string, ScenarioName][] = [['hospi.', 'hospitalStay'], ['optique.', 'optics'], ['audio.', 'hearing'], ['dentaire.', 'dental']];

export function scenarioOf(actCode: string, nom: Nomenclature): ScenarioName {
  const direct = BY_CODE[actCode];
  if (direct) return direct;
  const poste = nom.has(actCode) ? nom.get(actCode).poste : '';
  return BY_POSTE_PREFIX.find(([prefix]) => poste.startsWith(prefix))?.[1] ?? 'generic';
}

/** Who can receive a focused act (orthodontics before 16, a midwife's care for women of 18-45…). */
export function fitsFocus(code: string, person: Person, age: number): boolean {
  const woman = person.sex === 2 && age >= 18 && age <= 45;
  switch (code) {
    case 'TO':
    case 'LAC':
      return age < 16;
    case 'TON':
      return age >= 16;
    case '2355001':
      return age >= 20;
    case 'SF':
    case 'ACO':
      return woman;
    case 'OST':
      return age >= 45;
    case 'CRF':
      return age >= 20 && age <= 55;
    case 'TAB':
      return age >= 18;
    default:
      return true;
  }
}

export function scenarioWeights(person: Person, age: number): [ScenarioName, number][] {
  const senior = age >= 60;
  const woman = person.sex === 2 && age >= 18 && age <= 45;
  return [
    ['gp', 20], ['pharmacy', 22], ['specialist', 8], ['lab', 8], ['paramedical', senior ? 12 : 6], ['dental', age < 16 ? 10 : 7],
    ['optics', 4], ['imaging', 4], ['technicalAct', 3], ['transport', senior ? 5 : 1.5], ['hospitalStay', senior ? 5 : 2.5],
    ['hearing', senior ? 3 : 0.3], ['midwife', woman ? 2 : 0], ['appliance', 2], ['spa', age >= 40 ? 0.5 : 0],
    ['osteodensitometry', age >= 45 ? 0.6 : 0], ['refractiveSurgery', age >= 20 && age <= 55 ? 0.2 : 0],
  ];
}

/**
 * The rotation of focused act codes: every nomenclature code a caisse relays, plus the unmapped
 * code and an unknown beneficiary, dealt round-robin across scenarios so that even a small drop
 * holds many kinds of care.
 */
export const UNKNOWN_BENEFICIARY = '@unknown-beneficiary';

export function rotation(nom: Nomenclature): string[] {
  const groups = new Map<ScenarioName, string[]>();
  const add = (group: ScenarioName, code: string) => groups.set(group, [...(groups.get(group) ?? []), code]);
  for (const e of nom.entries) if (!INVOICE_ONLY_POSTES.has(e.poste)) add(scenarioOf(e.actCode, nom), e.actCode);
  const lists = [...groups.values()];
  // The two cases the engine must flag come early, so a sample of a few dozen décomptes has them.
  lists.splice(3, 0, [UNKNOWN_BENEFICIARY]);
  lists.splice(7, 0, [UNMAPPED_CODE]);
  const out: string[] = [];
  for (let i = 0; out.length < lists.reduce((s, l) => s + l.length, 0); i += 1) for (const l of lists) if (l[i] !== undefined) out.push(l[i] as string);
  return out;
}

export function pickScenario(rng: Rng, person: Person, age: number): ScenarioName {
  return rng.weighted(scenarioWeights(person, age));
}

export function runScenario(name: ScenarioName, ctx: CareContext) {
  return SCENARIOS[name](ctx);
}

export type { CareContext, DecompteDraft, Draft, Professional } from './types.js';
