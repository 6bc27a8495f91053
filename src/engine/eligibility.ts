import { addMonths, ageOn, type IsoDate } from '../model/dates.js';
import type { Eligibility, Grid } from '../model/grid.js';
import type { Beneficiary, Proof } from '../model/reference.js';

/**
 * Is the person covered on the date of care, and is the claim still due? Refusals are
 * `rejected` (the claim itself is not receivable: no cover that day, or time-barred), doubts that a
 * person must settle are `review`. Judged on the socle (first contract): a surcomplémentaire
 * follows the socle's affiliation (CCN: "les ayants droit couverts au titre du contrat
 * surcomplémentaire sont les mêmes que ceux couverts au titre du contrat socle").
 */
export type EligibilityVerdict = { status: 'rejected' | 'review'; reason: string } | null;

/** CCN: children under 18, under 26 with proof (studies, first job search, apprenticeship…). */
export const DEFAULT_ELIGIBILITY: Eligibility = { childAgeBelow: 18, childAgeBelowWithProof: 26 };

/** Affiliation and suspension on the date of care: no cover that day → rejected. */
export function checkAffiliation(b: Beneficiary, careDate: IsoDate): EligibilityVerdict {
  if (careDate < b.start) return { status: 'rejected', reason: `care on ${careDate} is before the affiliation start ${b.start}` };
  if (b.end !== null && careDate > b.end) return { status: 'rejected', reason: `care on ${careDate} is after the affiliation end ${b.end}` };
  const suspension = b.suspended.find((s) => s.from <= careDate && careDate <= s.to);
  if (suspension) {
    return { status: 'rejected', reason: `care on ${careDate} falls in a suspension of the guarantees (${suspension.from} to ${suspension.to}, unpaid contributions): no right to benefits for care during it` };
  }
  return null;
}

const covers = (p: Proof, date: IsoDate) => p.from <= date && (p.to === null || date <= p.to);

function describeProofs(proofs: readonly Proof[]): string {
  return proofs.length === 0 ? 'no proof on file' : `proofs on file: ${proofs.map((p) => `${p.kind} ${p.from} to ${p.to ?? 'open'}`).join(', ')}`;
}

/**
 * A child's cover from `childAgeBelow` when the membership knows the proofs (Beneficiary.proofs):
 * below `childAgeBelowWithProof` a 'studies' proof covering the date of care (studies,
 * apprenticeship, first job search), from it a 'disability' one. A disability proof also covers a
 * child below the limit ("sans limite d'âge" for a disabled child). Missing → no cover that day.
 */
function checkChildProof(proofs: readonly Proof[], rules: Eligibility, age: number, careDate: IsoDate): EligibilityVerdict {
  if (age < rules.childAgeBelow) return null;
  const disability = proofs.some((p) => p.kind === 'disability' && covers(p, careDate));
  if (disability) return null;
  if (age < rules.childAgeBelowWithProof) {
    if (proofs.some((p) => p.kind === 'studies' && covers(p, careDate))) return null;
    return { status: 'rejected', reason: `no cover on ${careDate}: child aged ${age}, covered from ${rules.childAgeBelow} to ${rules.childAgeBelowWithProof - 1} only with a proof of studies (or apprenticeship, first job search) covering that date; missing 'studies' proof (${describeProofs(proofs)})` };
  }
  return { status: 'rejected', reason: `no cover on ${careDate}: child aged ${age}, covered beyond ${rules.childAgeBelowWithProof - 1} only when disabled; missing 'disability' proof covering that date (${describeProofs(proofs)})` };
}

export function checkEligibility(b: Beneficiary, socle: Grid, careDate: IsoDate, asOf: IsoDate): EligibilityVerdict {
  const affiliation = checkAffiliation(b, careDate);
  if (affiliation) return affiliation;
  // Prescription: "toutes actions dérivant d'un contrat d'assurance sont prescrites par deux ans".
  if (addMonths(careDate, 24) < asOf) {
    return { status: 'rejected', reason: `claim time-barred: care on ${careDate} is more than 2 years before ${asOf} (prescription biennale)` };
  }
  const rules = socle.eligibility ?? DEFAULT_ELIGIBILITY;
  if (b.role === 'E' && b.proofs !== undefined) {
    const verdict = checkChildProof(b.proofs, rules, ageOn(b.birthDate, careDate), careDate);
    if (verdict) return verdict;
  } else if (b.role === 'E') {
    const age = ageOn(b.birthDate, careDate);
    // Proof of studies/apprenticeship/job search between the two limits is assumed on file: the
    // beneficiary row is kept only while it is (the membership file is the reference).
    if (age >= rules.childAgeBelowWithProof) {
      return { status: 'review', reason: `child aged ${age} on ${careDate}: covered beyond ${rules.childAgeBelowWithProof - 1} only when disabled (check the disability proof, or end the affiliation)` };
    }
  }
  if (rules.maxAgeAtJoin !== undefined) {
    const ageAtJoin = Number(b.start.slice(0, 4)) - Number(b.birthDate.slice(0, 4));
    if (ageAtJoin > rules.maxAgeAtJoin) {
      return { status: 'review', reason: `the beneficiary joined ${socle.id} at ${ageAtJoin} (by millésime), above its age limit of ${rules.maxAgeAtJoin}: check the adhésion (nullity is the insurer's decision)` };
    }
  }
  return null;
}
