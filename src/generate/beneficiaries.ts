import type { Beneficiary } from '../model/reference.js';
import type { Population } from './population.js';

/** beneficiaries.csv (formats.md §3) of a generated population, with its header row. */
export const BENEFICIARY_HEADER = ['adherent_id', 'nir', 'nir_key', 'rang', 'birth_date', 'role', 'contracts', 'start', 'end', 'suspended', 'noemie', 'iban', 'bic', 'name'] as const;

export function* encodeBeneficiaries(population: Population): Generator<string> {
  yield `${BENEFICIARY_HEADER.join(';')}\n`;
  for (const p of population.people) yield `${beneficiaryRow(p.beneficiary)}\n`;
}

export function beneficiaryRow(b: Beneficiary): string {
  return [
    b.adherentId, b.nir, b.nirKey, String(b.rang), b.birthDate, b.role, b.contracts.join('|'), b.start, b.end ?? '',
    b.suspended.map((s) => `${s.from}..${s.to}`).join('|'), b.noemie ? 'Y' : 'N', b.iban ?? '', b.bic ?? '', b.name,
  ].join(';');
}
