import type { IsoDate } from '../../model/dates.js';
import { claimedPastTwoYears } from './days.js';
import type { Grid } from '../../model/grid.js';
import type { Beneficiary } from '../../model/reference.js';
import { checkEligibility, DEFAULT_ELIGIBILITY, type EligibilityVerdict } from '../eligibility.js';

/**
 * eligibility.ts `checkEligibility` behind a cheap guard. The engine's function builds two Date
 * objects per line for the 2-year prescription (`addMonths`: 6 % of the kernel's profile, the
 * largest single engine call). Here each condition under which it can return a verdict is tested
 * first, with `care + 24 months` in integers (days.ts); only a line that meets one of them calls
 * the engine's function, which then gives the verdict and its text. A line that meets none is
 * eligible (null), as the engine's function would say. A rule added to eligibility.ts must be added
 * to `mayFail` too: the equivalence test (test/engine/kernel.test.ts) says when it is not.
 */
export class EligibilityGuard {
  private mayFail(b: Beneficiary, socle: Grid, careDate: IsoDate, claimedOn: IsoDate, age: number): boolean {
    if (careDate < b.start || (b.end !== null && careDate > b.end)) return true;
    for (const s of b.suspended) if (s.from <= careDate && careDate <= s.to) return true;
    if (claimedPastTwoYears(careDate, claimedOn)) return true;
    const rules = socle.eligibility ?? DEFAULT_ELIGIBILITY;
    if (b.role === 'E' && (b.proofs !== undefined || age >= rules.childAgeBelowWithProof)) return true;
    return rules.maxAgeAtJoin !== undefined && Number(b.start.slice(0, 4)) - Number(b.birthDate.slice(0, 4)) > rules.maxAgeAtJoin;
  }

  /** checkEligibility(b, socle, careDate, claimedOn); `age` = ageOn(b.birthDate, careDate). */
  check(b: Beneficiary, socle: Grid, careDate: IsoDate, claimedOn: IsoDate, age: number): EligibilityVerdict {
    return this.mayFail(b, socle, careDate, claimedOn, age) ? checkEligibility(b, socle, careDate, claimedOn) : null;
  }
}
