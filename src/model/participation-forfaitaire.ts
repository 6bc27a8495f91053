import { Decimal } from 'decimal.js';
import { ageOn } from './dates.js';
import { formatMoney, type Money } from './money.js';

/**
 * The participation forfaitaire the Sécurité sociale deducts from its reimbursement of one act
 * (domain.md §6): 1 € until 14 May 2024, 2 € from 15 May 2024, on a doctor's consultation or act,
 * imaging and biology, in town; none under 18 (age on the day of care). A quote has no décompte to
 * read it from, so it is worked out here; the AMC never pays it (contrat responsable).
 *
 * Not known to a quote, so not applied: the caps (4 € a day per professional, 50 € a year), and the
 * exemptions the RO knows and we do not (pregnancy from month 6, CSS / AME) — `noemie estimate
 * --pf 0` says so for a member who is exempt. Actes lourds (≥ 120 €) carry the 24 € participation
 * on their own PAV line, not this one.
 */
export const PF_POSTES: readonly string[] = ['soins.generalistes', 'soins.specialistes', 'soins.actes_techniques', 'soins.imagerie', 'soins.laboratoire'];
export const PF_RAISED_ON = '2024-05-15';

export interface PfInput {
  /** the act's town poste (nomenclature `poste`) */
  poste: string | null;
  careDate: string;
  /** null: the person is not known (taken as an adult) */
  birthDate: string | null;
  /** quoted in the hospital setting (a planned stay): no PF on a stay's fees */
  hospital: boolean;
  /** BR × the RO rate: the PF never exceeds what the RO pays */
  roGross: Money;
}

export interface Pf {
  amount: Money;
  /** why this amount, for the operator */
  rule: string;
}

export function participationForfaitaire(i: PfInput): Pf {
  if (i.hospital) return { amount: '0.00', rule: 'no participation forfaitaire on a stay in the hospital setting' };
  if (i.poste === null || !PF_POSTES.includes(i.poste)) return { amount: '0.00', rule: `no participation forfaitaire on ${i.poste ?? 'an act outside the nomenclature'} (doctors' acts, imaging and biology only)` };
  if (i.birthDate !== null && ageOn(i.birthDate, i.careDate) < 18) return { amount: '0.00', rule: 'no participation forfaitaire under 18' };
  const rate = i.careDate < PF_RAISED_ON ? '1.00' : '2.00';
  const amount = Decimal.min(rate, i.roGross);
  const capped = amount.lt(rate) ? ` (capped at the RO amount ${i.roGross})` : '';
  return { amount: formatMoney(amount), rule: `participation forfaitaire ${rate} € per act ${i.careDate < PF_RAISED_ON ? 'until 14 May 2024' : 'from 15 May 2024'}${capped}` };
}
