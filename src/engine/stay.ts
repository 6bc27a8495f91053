import { Decimal } from 'decimal.js';
import type { ActLine } from '../model/act-line.js';
import { addDays, daysBetween, type IsoDate } from '../model/dates.js';
import type { Grid } from '../model/grid.js';
import { roundCents } from '../model/money.js';
import type { NomenclatureEntry } from '../model/nomenclature.js';
import type { Beneficiary, PmssTable } from '../model/reference.js';
import type { LineFacts } from './facts.js';
import { periodOf } from './periods.js';

/**
 * A stay across a period boundary, counted day by day (issue 10, "Two engine readings").
 *
 * Which lines: those whose nomenclature unit is `day` (forfait journalier, frais de séjour,
 * ambulatory room) or `night` (single room, accompanying bed), with a care end after the care start.
 * Which day each unit falls on: unit i (0-based) falls on care start + i —
 * - a `day` is a calendar day of the stay, the day of discharge included: the forfait journalier is
 *   due for every day of the stay, the day of discharge included (the public rule; domain.md does not
 *   say), so days run from the care start to the care end inclusive;
 * - a `night` belongs to the date it begins: the night of 31 December is a night of the old year,
 *   and the day of discharge begins no night, so nights run from the care start to the day before the
 *   care end.
 * A line billing fewer units than its dates hold (a transfer day, a leave) puts its units on the
 * FIRST days of the stay: which days were left out is not on the line.
 *
 * The period of a day is the calendar year (the PMSS of 1 January, calendar-year counters) together
 * with each grid's own year (periodOf: the calendar year, or the insurance year from the effective
 * date). Consecutive days in the same period form one slice; each slice is liquidated on its own
 * (its first day is its date of care: rule in force, PMSS, counters, age) and the settlement is the
 * sum, each part naming its slices. A line within one period is not split: today's computation,
 * to the byte.
 */

export interface StaySlice {
  /** first and last day (or night start) of the slice, inclusive */
  from: IsoDate;
  to: IsoDate;
  units: number;
  /** the calendar year, then each grid's period, e.g. "2025" or "2026; RELAXEO-F1 year from 2025-03-15" */
  period: string;
}

export type StaySplit = { kind: 'whole' } | { kind: 'slices'; slices: StaySlice[] } | { kind: 'review'; reason: string };

const MULTI_DAY_UNITS = new Set(['day', 'night']);

function periodKey(date: IsoDate, grids: readonly Grid[], b: Beneficiary): string {
  const own = grids.filter((g) => g.yearBasis !== 'calendar').map((g) => `${g.id} year from ${periodOf(g, date, b.start)}`);
  return [date.slice(0, 4), ...new Set(own)].join('; ');
}

export function splitStay(line: Pick<ActLine, 'careStart' | 'careEnd' | 'quantity' | 'actCode'>, entry: Pick<NomenclatureEntry, 'unit'>, grids: readonly Grid[], b: Beneficiary): StaySplit {
  if (!MULTI_DAY_UNITS.has(entry.unit) || line.careEnd <= line.careStart) return { kind: 'whole' };
  const night = entry.unit === 'night';
  // the last day a unit may fall on
  const lastDay = night ? addDays(line.careEnd, -1) : line.careEnd;
  if (periodKey(line.careStart, grids, b) === periodKey(lastDay, grids, b) && !crossesInside(line.careStart, lastDay, grids, b)) return { kind: 'whole' };
  const room = daysBetween(line.careStart, lastDay) + 1;
  if (line.quantity > room) {
    const what = night ? `${room} night(s) from ${line.careStart} to ${line.careEnd} (the day of discharge begins no night)` : `${room} day(s) from ${line.careStart} to ${line.careEnd} inclusive`;
    return { kind: 'review', reason: `the stay crosses a period boundary and its quantity ${line.quantity} is more than the ${what}: which period each ${entry.unit} falls in cannot be told; check the line's dates with the caisse` };
  }
  const slices: StaySlice[] = [];
  for (let i = 0; i < line.quantity; i++) {
    const day = addDays(line.careStart, i);
    const period = periodKey(day, grids, b);
    const last = slices[slices.length - 1];
    if (last && last.period === period) {
      last.to = day;
      last.units += 1;
    } else slices.push({ from: day, to: day, units: 1, period });
  }
  return slices.length > 1 ? { kind: 'slices', slices } : { kind: 'whole' };
}

/** Same key at both ends but a boundary in between (a stay longer than a year): walk the days. */
function crossesInside(from: IsoDate, to: IsoDate, grids: readonly Grid[], b: Beneficiary): boolean {
  if (daysBetween(from, to) < 365) return false;
  const first = periodKey(from, grids, b);
  for (let d = from; d <= to; d = addDays(d, 1)) if (periodKey(d, grids, b) !== first) return true;
  return false;
}

/**
 * Splits an amount over the slices pro rata of their units, to the cent half up, the last slice
 * taking what is left: the slices always add up to the line's own figure, cent for cent.
 */
export function allocate(total: Decimal, slices: readonly StaySlice[], quantity: number): Decimal[] {
  let left = total;
  return slices.map((s, i) => {
    if (i === slices.length - 1) return left;
    const share = roundCents(total.times(s.units).dividedBy(quantity));
    left = left.minus(share);
    return share;
  });
}

/** The facts of each slice: its units, its share of every amount, its first day as date of care, that year's PMSS. */
export function sliceFacts(whole: LineFacts, slices: readonly StaySlice[], pmss: PmssTable, ageOn: (date: IsoDate) => number): LineFacts[] {
  const q = whole.quantity;
  const br = allocate(whole.br, slices, q);
  const fr = allocate(whole.fr, slices, q);
  const mrn = allocate(whole.mrn, slices, q);
  const ro = allocate(whole.roGross, slices, q);
  const pf = allocate(whole.pf, slices, q);
  const franchise = allocate(whole.franchise, slices, q);
  return slices.map((s, i) => {
    const yearPmss = pmss[Number(s.from.slice(0, 4))];
    return {
      ...whole,
      careDate: s.from,
      age: ageOn(s.from),
      quantity: s.units,
      br: br[i]!,
      fr: fr[i]!,
      mrn: mrn[i]!,
      roGross: ro[i]!,
      pf: pf[i]!,
      franchise: franchise[i]!,
      pmss: yearPmss === undefined ? undefined : new Decimal(yearPmss),
    };
  });
}

export function sliceLabel(s: StaySlice, unit: string): string {
  const span = s.from === s.to ? s.from : `${s.from} to ${s.to}`;
  return `${span}, ${s.units} ${unit}${s.units > 1 ? 's' : ''} (period ${s.period})`;
}
