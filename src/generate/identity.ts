import type { Rng } from './prng.js';

/**
 * Personal identifiers that pass the real checks: NIR (sex, birth year and month, place, order,
 * key 97 − NIR mod 97) and French IBAN/RIB (RIB key, ISO 13616 mod-97). All invented.
 */

/** Départements of birth used for NIRs: digits only, which keeps the committed samples stable (Corsica's 2A/2B NIRs are accepted everywhere: test/ingest/nir-corsica.test.ts). */
const BIRTH_DEPARTMENTS = ['75', '69', '13', '33', '59', '44', '31', '67', '35', '06', '34', '38', '76', '92', '93', '94', '62', '57', '29', '974'] as const;
/** INSEE country codes for people born abroad (département 99). */
const BIRTH_COUNTRIES = ['350', '352', '139', '109', '134', '127', '351'] as const;

export function makeNir(rng: Rng, sex: 1 | 2, birthDate: string): string {
  const yy = birthDate.slice(2, 4);
  const mm = birthDate.slice(5, 7);
  if (rng.chance(0.08)) return `${sex}${yy}${mm}99${rng.pick(BIRTH_COUNTRIES)}${pad(rng.int(1, 999), 3)}`;
  const dept = rng.pick(BIRTH_DEPARTMENTS);
  // Overseas départements take 3 digits, the commune then 2.
  const commune = dept.length === 3 ? pad(rng.int(1, 24), 2) : pad(rng.int(1, 400), 3);
  return `${sex}${yy}${mm}${dept}${commune}${pad(rng.int(1, 999), 3)}`;
}


const BANKS = [
  { code: '30004', bic: 'BNPAFRPPXXX' },
  { code: '30003', bic: 'SOGEFRPPXXX' },
  { code: '30002', bic: 'CRLYFRPPXXX' },
  { code: '10278', bic: 'CMCIFR2AXXX' },
  { code: '20041', bic: 'PSSTFRPPXXX' },
  { code: '18206', bic: 'AGRIFRPP882' },
] as const;

export function makeIban(rng: Rng): { iban: string; bic: string } {
  const bank = rng.pick(BANKS);
  const branch = rng.digits(5);
  const account = rng.digits(11);
  const ribKey = 97n - ((89n * BigInt(bank.code) + 15n * BigInt(branch) + 3n * BigInt(account)) % 97n);
  const bban = `${bank.code}${branch}${account}${pad(Number(ribKey), 2)}`;
  return { iban: `FR${ibanCheckDigits('FR', bban)}${bban}`, bic: bank.bic };
}

/** ISO 13616: move country + "00" to the end, letters to numbers (A=10), 98 − mod 97. */
export function ibanCheckDigits(country: string, bban: string): string {
  const numeric = `${bban}${country}00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  return pad(Number(98n - (BigInt(numeric) % 97n)), 2);
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

const LAST_NAMES = ['MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'DUBOIS', 'MOREAU', 'LAURENT', 'SIMON', 'MICHEL', 'LEFÈVRE', 'LEROY', 'ROUX', 'DAVID', 'BERTRAND', 'MOREL', 'FOURNIER', 'GIRARD', 'BONNET', 'DUPONT', 'LAMBERT', 'FONTAINE', 'ROUSSEAU', 'VINCENT', 'MÜLLER', 'FAURE', 'ANDRÉ', 'MERCIER', 'BLANC', 'GUÉRIN', 'BOYER', 'GARNIER', 'CHEVALIER', 'FRANÇOIS', 'LEGRAND', 'GAUTHIER', 'GARCIA', 'PERRIN', 'NGUYEN', 'BENALI', 'DA SILVA', "L'HÔTE"] as const;
const FIRST_NAMES: Record<1 | 2, readonly string[]> = {
  1: ['Jean', 'Pierre', 'Michel', 'André', 'Philippe', 'Nicolas', 'Thomas', 'Lucas', 'Hugo', 'Léo', 'Gabriel', 'Noé', 'Jérôme', 'François', 'Karim', 'Mathéo', 'Élie', 'Raphaël'],
  2: ['Marie', 'Nathalie', 'Isabelle', 'Sylvie', 'Camille', 'Léa', 'Manon', 'Chloé', 'Inès', 'Zoé', 'Emma', 'Jade', 'Louise', 'Hélène', 'Amélie', 'Aïcha', 'Anaïs', 'Céline'],
};

export function lastName(rng: Rng): string {
  return rng.pick(LAST_NAMES);
}

export function firstName(rng: Rng, sex: 1 | 2): string {
  return rng.pick(FIRST_NAMES[sex]);
}
