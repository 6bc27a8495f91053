import { POOLS, professional, type PoolKind } from './care/professionals.js';
import { lastName, makeIban } from './identity.js';
import { hashSeed, Rng } from './prng.js';

/**
 * professionals.csv (`ps_id;name;iban;bic`, src/pipeline/professionals.ts) for every professional
 * the generator can invent: each pool of care/professionals.ts, whole. A professional's account,
 * like its id, follows from (kind, index) alone — a French IBAN with a valid RIB key and ISO 13616
 * check digits, and its bank's BIC (identity.ts makeIban) — so one file serves every drop of any
 * seed, and a generated drop's tiers-payant lines are paid, none blocked for want of an account.
 */
export const PROFESSIONAL_HEADER = ['ps_id', 'name', 'iban', 'bic'] as const;

const LABELS: Record<PoolKind, string> = {
  gp: 'Cabinet Dr', specialist: 'Cabinet Dr', surgeon: 'Dr', anaesthetist: 'Dr', radiologist: 'Cabinet de radiologie', gynaecologist: 'Cabinet Dr',
  ophthalmologist: 'Cabinet Dr', dentist: 'Cabinet dentaire', midwife: 'Sage-femme', nurse: 'Cabinet infirmier', physio: 'Cabinet de kinésithérapie',
  lab: 'Laboratoire', pharmacy: 'Pharmacie', supplier: 'Matériel médical', optician: 'Optique', audiologist: 'Audition', transport: 'Ambulances',
  hospital: 'Centre hospitalier', clinic: 'Clinique', spa: 'Thermes',
};

export interface ProfessionalAccountRow {
  psId: string;
  name: string;
  iban: string;
  bic: string;
}

export function* professionalAccounts(): Generator<ProfessionalAccountRow> {
  for (const kind of Object.keys(POOLS) as PoolKind[]) {
    for (let index = 0; index < POOLS[kind].size; index += 1) {
      const rng = new Rng(hashSeed(index, `account:${kind}`));
      const { iban, bic } = makeIban(rng);
      const name = lastName(rng);
      yield { psId: professional(kind, index).id, name: `${LABELS[kind]} ${name.charAt(0)}${name.slice(1).toLowerCase()}`, iban, bic };
    }
  }
}

export function* encodeProfessionals(): Generator<string> {
  yield `${PROFESSIONAL_HEADER.join(';')}\n`;
  for (const p of professionalAccounts()) yield `${p.psId};${p.name};${p.iban};${p.bic}\n`;
}
