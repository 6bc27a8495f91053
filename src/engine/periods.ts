import { addMonths, type IsoDate } from '../model/dates.js';
import type { Grid } from '../model/grid.js';
import type { Beneficiary } from '../model/reference.js';
import { personKey } from './state.js';

/**
 * Counter keys: `grid|scope|counter|kind|period`, e.g.
 *   CCN-HLA-OPT1|1850375123456-1|divers.medecine_preventive|count|2025
 *   RELAXEO-F1|family:A001|dentaire.plafond|amount|2025-03-15
 * Keys carry the grid: the socle and the surcomplémentaire each count their own forfaits (their
 * maxima differ: 4 sessions in Base, 5 in Option 2). The period is the calendar year ("2025") or
 * the insurance year, named by its first day (RELAXEO: "12 mois successifs à compter de la date
 * d'effet", the effective date being the beneficiary's affiliation start).
 */

export type CounterKind = 'count' | 'days' | 'amount' | 'budget';

export function periodOf(grid: Pick<Grid, 'yearBasis'>, careDate: IsoDate, effectiveDate: IsoDate): string {
  if (grid.yearBasis === 'calendar') return careDate.slice(0, 4);
  const years = Number(careDate.slice(0, 4)) - Number(effectiveDate.slice(0, 4));
  let start = addMonths(effectiveDate, 12 * years);
  if (start > careDate) start = addMonths(effectiveDate, 12 * (years - 1));
  // Care before the effective date is refused earlier; keep a well-defined key anyway.
  return start < effectiveDate ? effectiveDate : start;
}

export function counterKey(grid: Grid, b: Beneficiary, scope: 'beneficiary' | 'family' | undefined, counter: string, kind: CounterKind, careDate: IsoDate): string {
  const who = scope === 'family' ? `family:${b.adherentId}` : personKey(b);
  return `${grid.id}|${who}|${counter}|${kind}|${periodOf(grid, careDate, b.start)}`;
}

/** Renewal histories are the person's, whatever the grid: a level change does not restart "2 years". */
export function renewalKey(b: Beneficiary, group: string, element: string, side: string | null): string {
  return `renewal|${personKey(b)}|${group}|${side === null ? element : `${element}-${side}`}`;
}
