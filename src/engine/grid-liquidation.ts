import { Decimal } from 'decimal.js';
import { addDays } from '../model/dates.js';
import { gridById, type Grid, type GridSet, type Renewal, type Term } from '../model/grid.js';
import { formatMoney as money, roundCents } from '../model/money.js';
import { chooseRule, inForce } from './conditions.js';
import type { LineFacts } from './facts.js';
import { otherGridsOfLayer, levelShares, prorate, trailingWindow, yearWindow, type LevelShare, type Prorated, type Window } from './levels.js';
import { counterKey, renewalKey, type CounterKind } from './periods.js';
import { counterValue, own, renewalWindow, type CounterMove } from './state.js';
import { evaluateTerms, isBudget, type Budget } from './terms.js';
import type { Consumption, EngineState, RenewalEntry } from './types.js';

/**
 * What ONE grid pays for a line, read against the state before the line (the socle and the
 * surcomplémentaire are each computed this way, then layered). Order: rule → waiting period →
 * renewal (units refused) → count/day limits (units beyond → `beyond`) → terms and yearly budgets →
 * yearly € ceilings (beyond → `beyond`, e.g. the TM).
 */
export interface GridOutcome {
  contract: string;
  amc: Decimal;
  rule: string | null;
  formula: string;
  /** why this grid pays less than the rest to pay, in words */
  reasons: string[];
  /** the guarantee, not the expense, bounded the AMC */
  capped: boolean;
  consumed: Consumption[];
  renewals: { key: string; entry: RenewalEntry }[];
  renewalMoves: CounterMove[];
  review: string | null;
  /** what the decision read (hash input) */
  reads: Record<string, unknown>;
}

const TM_ONLY: Term[] = [{ kind: 'pct_br', pct: '100' }];

function outcome(grid: Grid, partial: Partial<GridOutcome>): GridOutcome {
  return {
    contract: grid.id, amc: new Decimal(0), rule: null, formula: '', reasons: [], capped: false,
    consumed: [], renewals: [], renewalMoves: [], review: null, reads: {}, ...partial,
  };
}

function monthsFor(r: Renewal, age: number): number {
  const band = r.periods.find((p) => p.ageBelow === undefined || age < p.ageBelow) ?? r.periods[r.periods.length - 1]!;
  return band.months;
}

/**
 * The beneficiary's level history seen from one grid: its layer (0 socle, 1 surcomplémentaire) and
 * the grids of the other levels. Given only when the beneficiary has `contractPeriods`.
 */
export interface LevelView {
  layer: number;
  grids: GridSet;
}

/** The yearly € ceiling on `counter` in another level's grid (null: that grid has none). */
function ceilingOf(grids: GridSet, id: string, counter: string, date: string): Decimal | null {
  for (const r of gridById(grids, id)?.rules ?? []) {
    if (!inForce(r, date)) continue;
    const l = (r.limits ?? []).find((x) => x.kind === 'amount' && (x.counter ?? r.poste) === counter);
    if (l && l.kind === 'amount') return new Decimal(l.max);
  }
  return null;
}

/** The yearly budget on `counter` in another level's grid, in euros (null: that grid has none of this kind). */
function budgetOf(grids: GridSet, id: string, counter: string, kind: Term['kind'], f: LineFacts): Decimal | null {
  for (const r of gridById(grids, id)?.rules ?? []) {
    if (!inForce(r, f.careDate)) continue;
    const t = r.formula.find((x) => isBudget(x) && x.kind === kind && (x.counter ?? r.poste) === counter);
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

export function liquidateGrid(grid: Grid, f: LineFacts, state: EngineState, lineKey: string, levels?: LevelView): GridOutcome {
  const gridReads = { id: grid.id, includesRO: grid.includesRO, yearBasis: grid.yearBasis };
  const choice = chooseRule(grid.rules, grid.id, f);
  if (choice.kind === 'none') return outcome(grid, { reasons: [choice.reason], formula: choice.reason, reads: { grid: gridReads, rule: null } });
  const rule = choice.rule;
  const reads: Record<string, unknown> = { grid: gridReads, rule, counters: {}, renewals: {} };
  const base = (partial: Partial<GridOutcome>) => outcome(grid, { rule: rule.id, reads, ...partial });

  if (rule.formula[0]?.kind === 'not_covered') {
    const why = `${grid.id} does not cover ${rule.poste}${rule.note ? ` (${rule.note})` : ''}`;
    return base({ reasons: [why], formula: why });
  }

  const b = f.beneficiary;
  const basis = { includesRO: rule.includesRO ?? grid.includesRO };
  const waiting = (grid.waitingPeriods ?? []).find(
    (w) => w.postePrefixes.some((p) => f.poste.startsWith(p)) && f.careDate < addDays(b.start, w.days) && !(w.exceptAccident && f.line.accident),
  );
  if (waiting) {
    reads.waiting = waiting;
    const span = `waiting period of ${waiting.days} days after the effective date ${b.start} (until ${addDays(b.start, waiting.days - 1)}), no accident`;
    if (waiting.effect === 'not_covered') return base({ reasons: [`${span}: ${rule.poste} not covered`], formula: `${span}: not covered` });
    const tm = evaluateTerms(TM_ONLY, f.quantity, f, basis, new Map());
    return base({ amc: tm.amc, capped: tm.capped, formula: `${span}: TM only; ${tm.text}`, reasons: [`${span}: hospital paid at the ticket modérateur only`] });
  }

  // Level history: consumption under the previous grids of this layer carries over; the € ceilings
  // are prorated when the grid says so (RELAXEO §2.4.1, levels.ts for the reading).
  const history = levels !== undefined && b.contractPeriods !== undefined ? levels : undefined;
  const others = history ? otherGridsOfLayer(b, history.layer, grid.id) : [];
  const prorating = history !== undefined && grid.prorateCeilingsOnLevelChange === true;
  const notes: string[] = [];
  const prorations: Record<string, unknown> = {};
  let yearShares: { window: Window; shares: LevelShare[] } | undefined;
  const sharesOfYear = () => (yearShares ??= ((w) => ({ window: w, shares: levelShares(b, history!.layer, w, f.careDate, grid.id) }))(yearWindow(grid, f.careDate, b.start)));
  const proratedYearly = (label: string, key: string, nominal: Decimal, amountOf: (id: string) => Decimal | null): Decimal => {
    if (!prorating) return nominal;
    const { window, shares } = sharesOfYear();
    return applied(key, prorate(label, window, shares, (id) => (id === grid.id ? nominal : amountOf(id))), nominal);
  };
  const applied = (key: string, p: Prorated, nominal: Decimal): Decimal => {
    if (p.kind === 'nominal') {
      if (p.why) notes.push(p.why);
      return nominal;
    }
    notes.push(p.text);
    prorations[key] = p.shares;
    return p.amount;
  };
  const readCounters = reads.counters as Record<string, string>;
  /** What the person used on this counter this year, under this grid and the previous levels of the layer. */
  const usedOn = (scope: 'beneficiary' | 'family' | undefined, counter: string, kind: CounterKind, digits: number): { key: string; used: Decimal } => {
    const key = counterKey(grid, b, scope, counter, kind, f.careDate);
    let used = counterValue(state, key);
    readCounters[key] = used.toFixed(digits);
    for (const id of others) {
      const k = counterKey({ ...grid, id }, b, scope, counter, kind, f.careDate);
      const v = counterValue(state, k);
      if (v.isZero()) continue;
      readCounters[k] = v.toFixed(digits);
      used = used.plus(v);
      notes.push(`${counter}: ${v.toFixed(digits)} used under ${id} carried over (level change)`);
    }
    return { key, used };
  };

  const reasons: string[] = [];
  const consumed: Consumption[] = [];
  const renewals: GridOutcome['renewals'] = [];
  const renewalMoves: CounterMove[] = [];
  let formulaTerms: readonly Term[] = rule.formula;

  // Renewal: units over the element's allowance in the running period are refused outright.
  let allowed = f.quantity;
  if (rule.renewal) {
    const r = rule.renewal;
    const element = r.element ?? (r.elementAttribute !== undefined ? own(f.entry.attributes, r.elementAttribute) : undefined);
    if (element === undefined) return base({ review: `act ${f.line.actCode} has no ${r.elementAttribute} attribute in the nomenclature: renewal of ${r.group} cannot be checked` });
    const side = f.line.side;
    const capacity = side !== null ? 1 : (own(r.unitsPerElement, element) ?? 1);
    const months = monthsFor(r, f.age);
    // "Pour les équipements en optique le plafond sera recalculé en tenant compte de la période des deux
    // ans": the equipment's forfaits are prorated over the renewal period ending on the date of care.
    if (prorating) {
      const window = trailingWindow(f.careDate, months);
      const shares = levelShares(b, history!.layer, window, f.careDate, grid.id);
      formulaTerms = rule.formula.map((t, j) => {
        if (t.kind !== 'eur' || t.per === 'year') return t;
        const nominal = new Decimal(t.amount);
        const p = prorate(`forfait ${rule.id} per ${t.per}`, window, shares, (id) => (id === grid.id ? nominal : unitForfaitOf(history!.grids, id, f, j, t)));
        return { ...t, amount: money(applied(`${rule.id}#${j}`, p, nominal)) };
      });
    }
    const key = renewalKey(b, r.group, element, side);
    const entries: readonly RenewalEntry[] = own(state.renewals, key) ?? [];
    (reads.renewals as Record<string, unknown>)[key] = entries;
    const w = renewalWindow(entries, f.careDate, months, capacity);
    allowed = Math.min(allowed, w.left);
    if (allowed < f.quantity) {
      reasons.push(`renewal period not over: ${element}${side ? ` (${side})` : ''} already reimbursed on ${w.since}; next one from ${w.until} (one per ${months} months at age ${f.age}); an earlier renewal needs a prescription showing a change of sight or a medical situation`);
    }
    if (allowed > 0) {
      renewals.push({ key, entry: { date: f.careDate, units: allowed, lineKey } });
      renewalMoves.push({ key, before: w.until === null ? 'none' : `${w.since}:${w.used}`, after: `${w.since}:${w.used + allowed}` });
    }
  }

  // Count and day limits: units past the maximum go to `beyond` (or get nothing).
  let within = allowed;
  const unitKeys: string[] = [];
  for (const limit of rule.limits ?? []) {
    if (limit.kind !== 'count' && limit.kind !== 'days') continue;
    const { key, used } = usedOn(limit.scope, limit.counter ?? rule.poste, limit.kind, 0);
    const left = Math.max(0, limit.max - used.toNumber());
    if (left < within) {
      const what = limit.kind === 'days' ? 'days' : `${f.entry.unit}s`;
      reasons.push(`yearly limit of ${limit.max} ${what} reached for ${limit.counter ?? rule.poste} (${used.toFixed(0)} before this line)${rule.beyond ? ', the rest is paid at the rate beyond the limit' : ''}`);
      within = left;
    }
    unitKeys.push(key);
  }
  const beyondUnits = allowed - within;

  const budgets = new Map<Term, Budget>();
  for (const t of formulaTerms) {
    if (!isBudget(t)) continue;
    if (t.kind === 'pmss_pct' && !f.pmss) return base({ review: `no PMSS for ${f.careDate.slice(0, 4)} in pmss.csv: ${rule.id} cannot be computed` });
    const counter = t.counter ?? rule.poste;
    const { key, used } = usedOn(t.scope, counter, 'budget', 2);
    const nominal = t.kind === 'eur' ? new Decimal(t.amount) : roundCents(new Decimal(t.pct).times(f.pmss!).dividedBy(100));
    const total = proratedYearly(`yearly forfait ${counter}`, key, nominal, (id) => budgetOf(history!.grids, id, counter, t.kind, f));
    budgets.set(t, { key, left: Decimal.max(0, total.minus(used)) });
  }
  const totalLimit = (rule.limits ?? []).find((l) => l.kind === 'total_per_unit');
  const totalCap = totalLimit ? new Decimal(totalLimit.max) : undefined;

  const main = evaluateTerms(formulaTerms, within, f, basis, budgets, totalCap);
  if (main.review) return base({ review: main.review });
  const over = beyondUnits > 0 && rule.beyond ? evaluateTerms(rule.beyond, beyondUnits, f, basis, new Map(), totalCap) : null;
  if (over?.review) return base({ review: over.review });
  for (const key of main.exhausted) reasons.push(`yearly forfait ${key.split('|')[2]} already used up`);
  let amc = main.amc.plus(over?.amc ?? 0);
  let formula = main.text || (within === 0 ? 'no unit within the limits: 0.00' : '');
  if (over) formula += `; ${beyondUnits} beyond the limit: ${over.text}`;
  if (within > 0) for (const key of unitKeys) consumed.push({ key, amount: String(within) });
  consumed.push(...main.budgetUse);

  // Yearly ceilings on what the AMC pays; past one, `beyond` (RELAXEO: the TM) still applies.
  for (const limit of rule.limits ?? []) {
    if (limit.kind !== 'amount') continue;
    const counter = limit.counter ?? rule.poste;
    const { key, used } = usedOn(limit.scope, counter, 'amount', 2);
    const max = proratedYearly(`ceiling ${counter}`, key, new Decimal(limit.max), (id) => ceilingOf(history!.grids, id, counter, f.careDate));
    const left = Decimal.max(0, max.minus(used));
    if (amc.gt(left)) {
      const fallback = rule.beyond ? evaluateTerms(rule.beyond, allowed, f, basis, new Map(), totalCap).amc : new Decimal(0);
      const capped = Decimal.min(amc, Decimal.max(left, fallback));
      const tail = fallback.gt(left) ? `, paid at the rate beyond the ceiling (${money(fallback)})` : left.gt(0) ? `, ${money(left)} left` : '';
      reasons.push(`yearly ceiling ${counter} of ${money(max)} reached (${money(used)} used)${tail}`);
      formula += `; ceiling ${counter} ${money(max)}, left ${money(left)}${fallback.gt(0) ? `, beyond ${money(fallback)}` : ''} → ${money(capped)}`;
      amc = capped;
    }
    const take = Decimal.min(amc, left);
    if (take.gt(0)) consumed.push({ key, amount: money(take) });
  }

  if (notes.length > 0) {
    formula = `${notes.join('; ')}; ${formula}`;
    reads.levels = { notes, prorations };
  }
  return base({ amc, formula, reasons, capped: main.capped || (over?.capped ?? false) || reasons.length > 0, consumed, renewals, renewalMoves });
}

