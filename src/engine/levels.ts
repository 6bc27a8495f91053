import { Decimal } from 'decimal.js';
import { addDays, addMonths, daysBetween, type IsoDate } from '../model/dates.js';
import type { Grid } from '../model/grid.js';
import { formatMoney as money, roundCents } from '../model/money.js';
import type { Beneficiary, ContractPeriod } from '../model/reference.js';
import { periodOf } from './periods.js';

/**
 * Contract levels over time (Beneficiary.contractPeriods, issue 10). The level in force on the date
 * of care is the period containing it; without a history, `contracts` applies on every date.
 *
 * Reading of RELAXEO §2.4.1 ("les changements de garanties (à la hausse ou à la baisse) entraineront
 * un recalcul des plafonds (proratisation). Pour les équipements en optique le plafond sera recalculé
 * en tenant compte de la période des deux ans"): a € ceiling in force on the date of care D is
 *   Σ over levels (ceiling of the level × days under it in the window) / days covered in the window
 * rounded to the cent once, where the window is
 *   - for yearly ceilings and budgets: the year of the limits containing D (calendar or insurance);
 *   - for optics forfaits (rules with a renewal): the renewal period ending on D (2 years from 16,
 *     1 year under 16), i.e. the period the equipment is financed over; hearing aids, by the same
 *     reading, over their 4 years (the seed names optics only; RELAXEO-F1 and F2 pay the same per aid);
 * days up to D count under the level then in force (days in no period do not count), days after D
 * count under the level in force on D. The latter keeps the decision of a line independent of
 * changes dated after its care date: a re-liquidation "from" a change re-decides exactly the lines
 * the change can affect. With a single level in the window the ceiling is that level's (no change).
 * Consumption carries over: what the person used under the previous grid of the same layer (socle,
 * surcomplémentaire) in the same year counts against the new one.
 */

export interface LevelInForce {
  contracts: readonly string[];
  /** the period containing the date of care; null when the beneficiary has no contract history */
  period: ContractPeriod | null;
}

const contains = (p: ContractPeriod, date: IsoDate) => p.from <= date && (p.to === null || date <= p.to);

/** The contracts in force on `date`, or null when the history has no period containing it (no cover that day). */
export function levelOn(b: Beneficiary, date: IsoDate): LevelInForce | null {
  if (b.contractPeriods === undefined) return { contracts: b.contracts, period: null };
  // Periods do not overlap (ContractPeriodsSchema); from the end, so a later period wins if they ever did.
  const period = [...b.contractPeriods].reverse().find((p) => contains(p, date));
  return period ? { contracts: period.contracts, period } : null;
}

export function describePeriod(p: Pick<ContractPeriod, 'from' | 'to'>): string {
  return p.to === null ? `from ${p.from}` : `${p.from} to ${p.to}`;
}

/** Grid ids the person held at this layer (0 socle, 1 surco) in any period, other than `current`. */
export function otherGridsOfLayer(b: Beneficiary, layer: number, current: string): string[] {
  const ids = new Set<string>();
  for (const p of b.contractPeriods ?? []) {
    const id = p.contracts[layer];
    if (id !== undefined && id !== current) ids.add(id);
  }
  return [...ids];
}

export interface Window {
  from: IsoDate;
  to: IsoDate;
}

/** The year of yearly limits containing the date of care (calendar, or insurance year from the effective date). */
export function yearWindow(grid: Pick<Grid, 'yearBasis'>, careDate: IsoDate, effectiveDate: IsoDate): Window {
  if (grid.yearBasis === 'calendar') return { from: `${careDate.slice(0, 4)}-01-01`, to: `${careDate.slice(0, 4)}-12-31` };
  const from = periodOf(grid, careDate, effectiveDate);
  return { from, to: addDays(addMonths(from, 12), -1) };
}

/** The `months` ending on the date of care, both ends included (2025-09-01, 24 → 2023-09-02..2025-09-01). */
export function trailingWindow(careDate: IsoDate, months: number): Window {
  return { from: addDays(addMonths(careDate, -months), 1), to: careDate };
}

export interface LevelShare {
  gridId: string;
  days: number;
}

const overlapDays = (a: Window, from: IsoDate, to: IsoDate | null): number => {
  const start = from > a.from ? from : a.from;
  const end = to === null || to > a.to ? a.to : to;
  return end < start ? 0 : daysBetween(start, end) + 1;
};

/**
 * Days of the window under each grid of the layer, in the order the levels came: up to the date of
 * care, the grid of each period; after it, `current` (the level in force on the care date).
 */
export function levelShares(b: Beneficiary, layer: number, window: Window, careDate: IsoDate, current: string): LevelShare[] {
  const byGrid = new Map<string, number>();
  const add = (id: string, days: number) => { if (days > 0) byGrid.set(id, (byGrid.get(id) ?? 0) + days); };
  const past: Window = { from: window.from, to: careDate < window.to ? careDate : window.to };
  if (past.from <= past.to) {
    for (const p of b.contractPeriods ?? []) {
      const id = p.contracts[layer];
      if (id !== undefined) add(id, overlapDays(past, p.from, p.to));
    }
  }
  // The window contains the care date: the days after it are the level in force's.
  if (careDate < window.to) add(current, daysBetween(careDate, window.to));
  return [...byGrid.entries()].map(([gridId, days]) => ({ gridId, days }));
}

export type Prorated =
  | { kind: 'prorated'; amount: Decimal; text: string; shares: { gridId: string; days: number; amount: string }[] }
  | { kind: 'nominal'; why: string | null };

/**
 * The prorated ceiling, or `nominal` when there is nothing to prorate (one level in the window) or a
 * level's ceiling is unknown (`amountOf` → null: no such ceiling in that grid; `why` says so).
 */
export function prorate(label: string, window: Window, shares: readonly LevelShare[], amountOf: (gridId: string) => Decimal | null): Prorated {
  if (shares.length <= 1) return { kind: 'nominal', why: null };
  const amounts: { gridId: string; days: number; amount: string }[] = [];
  for (const s of shares) {
    const a = amountOf(s.gridId);
    if (a === null) return { kind: 'nominal', why: `${label} not prorated: ${s.gridId} has no such ceiling, the level in force's applies` };
    amounts.push({ ...s, amount: money(a) });
  }
  // Same ceiling under every level: nothing to recalculate (and nothing to clutter the formula with).
  if (amounts.every((s) => s.amount === amounts[0]!.amount)) return { kind: 'nominal', why: null };
  const days = shares.reduce((n, s) => n + s.days, 0);
  const weighted = amounts.reduce((sum, s) => sum.plus(new Decimal(s.amount).times(s.days)), new Decimal(0));
  const amount = roundCents(weighted.dividedBy(days));
  const terms = amounts.map((s) => `${s.gridId} ${s.amount} × ${s.days} d`).join(' + ');
  return { kind: 'prorated', amount, shares: amounts, text: `${label} prorated over ${window.from}..${window.to} (level change, §2.4.1): (${terms}) / ${days} d = ${money(amount)}` };
}
