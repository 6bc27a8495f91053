import { Decimal } from 'decimal.js';
import { gridById, type Grid, type GridRule, type GridSet, type Term } from '../model/grid.js';
import { formatMoney as money, roundCents } from '../model/money.js';
import { chooseRule, inForce } from './conditions.js';
import type { LineFacts } from './facts.js';
import { levelShares, otherGridsOfLayer, prorate, trailingWindow, yearWindow, type Prorated } from './levels.js';
import { counterKey, type CounterKind } from './periods.js';
import { counterValue } from './state.js';
import type { EngineState } from './types.js';

/**
 * What one grid's liquidation reads through the beneficiary's level history (levels.ts gives the
 * reading): counters used under this grid and the previous grids of its layer (carried over), and
 * € ceilings prorated over the days under each level when the grid says so (RELAXEO §2.4.1).
 * Without a history it reads exactly what the grid and the counters say. `notes` (formula text)
 * and `prorations` (hash input) say what was carried and prorated.
 */

/** The beneficiary's level history seen from one grid: its layer (0 socle, 1 surcomplémentaire) and the grids of the other levels. */
export interface LevelView {
  layer: number;
  grids: GridSet;
}

export interface LevelReader {
  /** consumed so far this year on the counter, the previous levels' consumption included; `key` is this grid's */
  used(scope: 'beneficiary' | 'family' | undefined, counter: string, kind: CounterKind): { key: string; used: Decimal };
  /** the yearly € ceiling (`amount` limit) in force */
  ceiling(counter: string, key: string, nominal: Decimal): Decimal;
  /** the yearly budget of a `per: 'year'` term in force */
  budget(term: Extract<Term, { kind: 'eur' | 'pmss_pct' }>, counter: string, key: string, nominal: Decimal): Decimal;
  /** the rule's terms with its per-unit € forfaits prorated over the renewal period ending on the date of care */
  unitForfaits(rule: GridRule, months: number): readonly Term[];
  notes: string[];
  prorations: Record<string, unknown>;
}

/** The yearly € ceiling on `counter` in another level's grid (null: that grid has none). */
function ceilingOf(grids: GridSet, id: string, counter: string, date: string): Decimal | null {
  for (const r of gridById(grids, id)?.rules ?? []) {
    if (!inForce(r, date)) continue;
    const l = (r.limits ?? []).find((x) => x.kind === 'amount' && (x.counter ?? r.poste) === counter);
    if (l?.kind === 'amount') return new Decimal(l.max);
  }
  return null;
}

/** The yearly budget on `counter` in another level's grid, in euros (null: that grid has none of this kind). */
function budgetOf(grids: GridSet, id: string, counter: string, kind: Term['kind'], f: LineFacts): Decimal | null {
  for (const r of gridById(grids, id)?.rules ?? []) {
    if (!inForce(r, f.careDate)) continue;
    const t = r.formula.find((x) => (x.kind === 'eur' || x.kind === 'pmss_pct') && x.per === 'year' && x.kind === kind && (x.counter ?? r.poste) === counter);
    if (t?.kind === 'eur') return new Decimal(t.amount);
    if (t?.kind === 'pmss_pct' && f.pmss) return roundCents(new Decimal(t.pct).times(f.pmss).dividedBy(100));
  }
  return null;
}

/**
 * The per-unit € forfait another level pays for this line (the term at the same place of the rule
 * that level would apply): 0 when that level does not cover the act, null when its rule differs in shape.
 */
function unitForfaitOf(grids: GridSet, id: string, f: LineFacts, index: number, term: Extract<Term, { kind: 'eur' }>): Decimal | null {
  const other = gridById(grids, id);
  if (!other) return null;
  const choice = chooseRule(other.rules, other.id, f);
  if (choice.kind === 'none' || choice.rule.formula[0]?.kind === 'not_covered') return new Decimal(0);
  const t = choice.rule.formula[index];
  return t?.kind === 'eur' && t.per === term.per ? new Decimal(t.amount) : null;
}

export function levelReader(grid: Grid, f: LineFacts, state: EngineState, levels: LevelView | undefined, readCounters: Record<string, string>): LevelReader {
  const b = f.beneficiary;
  const history = levels !== undefined && b.contractPeriods !== undefined ? levels : undefined;
  const others = history ? otherGridsOfLayer(b, history.layer, grid.id) : [];
  const notes: string[] = [];
  const prorations: Record<string, unknown> = {};

  const applied = (key: string, p: Prorated, nominal: Decimal): Decimal => {
    if (p.kind === 'nominal') {
      if (p.why) notes.push(p.why);
      return nominal;
    }
    notes.push(p.text);
    prorations[key] = p.shares;
    return p.amount;
  };
  const yearly = (label: string, key: string, nominal: Decimal, amountOf: (grids: GridSet, id: string) => Decimal | null): Decimal => {
    if (!history || grid.prorateCeilingsOnLevelChange !== true) return nominal;
    const window = yearWindow(grid, f.careDate, b.start);
    const shares = levelShares(b, history.layer, window, f.careDate, grid.id);
    return applied(key, prorate(label, window, shares, (id) => (id === grid.id ? nominal : amountOf(history.grids, id))), nominal);
  };

  return {
    notes,
    prorations,
    used(scope, counter, kind) {
      const digits = kind === 'count' || kind === 'days' ? 0 : 2;
      const key = counterKey(grid, b, scope, counter, kind, f.careDate);
      let used = counterValue(state, key);
      readCounters[key] = used.toFixed(digits);
      for (const id of others) {
        // Same period label as this grid's (levels of one contract share the year basis).
        const k = counterKey({ ...grid, id }, b, scope, counter, kind, f.careDate);
        const v = counterValue(state, k);
        if (v.isZero()) continue;
        readCounters[k] = v.toFixed(digits);
        used = used.plus(v);
        notes.push(`${counter}: ${v.toFixed(digits)} used under ${id} carried over (level change)`);
      }
      return { key, used };
    },
    ceiling: (counter, key, nominal) => yearly(`ceiling ${counter}`, key, nominal, (grids, id) => ceilingOf(grids, id, counter, f.careDate)),
    budget: (term, counter, key, nominal) => yearly(`yearly forfait ${counter}`, key, nominal, (grids, id) => budgetOf(grids, id, counter, term.kind, f)),
    unitForfaits(rule, months) {
      // "Pour les équipements en optique le plafond sera recalculé en tenant compte de la période des
      // deux ans": the equipment's forfaits over the renewal period ending on the date of care.
      if (!history || grid.prorateCeilingsOnLevelChange !== true) return rule.formula;
      const window = trailingWindow(f.careDate, months);
      const shares = levelShares(b, history.layer, window, f.careDate, grid.id);
      return rule.formula.map((t, j) => {
        if (t.kind !== 'eur' || t.per === 'year') return t;
        const nominal = new Decimal(t.amount);
        const p = prorate(`forfait ${rule.id} per ${t.per}`, window, shares, (id) => (id === grid.id ? nominal : unitForfaitOf(history.grids, id, f, j, t)));
        return { ...t, amount: money(applied(`${rule.id}#${j}`, p, nominal)) };
      });
    },
  };
}
