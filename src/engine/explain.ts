import { Decimal } from 'decimal.js';
import type { LineFacts } from './facts.js';
import type { GridOutcome } from './grid-liquidation.js';

/**
 * The plain-words `reason` of a settlement whenever the AMC pays less than the rest to pay:
 * what the contract said (not covered, limit reached, waiting period…), then what a responsible
 * contract never covers (PF, franchise, majoration hors parcours), then the part of the expense
 * above the guarantee.
 */
export function explain(f: LineFacts, decisive: GridOutcome, rest: Decimal): string | null {
  if (rest.lte(0)) return null;
  const items = [...decisive.reasons];
  if (f.pf.gt(0)) items.push(`participation forfaitaire ${f.pf.toFixed(2)} is never covered (contrat responsable)`);
  if (f.franchise.gt(0)) items.push(`franchise médicale ${f.franchise.toFixed(2)} is never covered (contrat responsable)`);
  const majoration = f.mrn.minus(f.roGross);
  if (majoration.gt(0) && new Decimal(f.line.roRate).lt(f.normalRate)) {
    items.push(`majoration du ticket modérateur hors parcours de soins ${majoration.toFixed(2)} (RO at ${f.line.roRate}% instead of ${f.normalRate.toFixed()}%) is never covered`);
  }
  const overGuarantee = f.fr.minus(f.mrn).minus(decisive.amc);
  if (decisive.capped && decisive.reasons.length === 0 && overGuarantee.gt(0)) {
    items.push(`${overGuarantee.toFixed(2)} of the expense is above the guarantee ${decisive.rule ?? ''} of ${decisive.contract}`.replace('  ', ' '));
  }
  if (items.length === 0) items.push(`${rest.toFixed(2)} left to pay is not covered`);
  return items.join('; ');
}
