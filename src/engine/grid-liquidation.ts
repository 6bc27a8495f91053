import { Decimal } from 'decimal.js';
import { addDays } from '../model/dates.js';
import type { Grid, Renewal, Term } from '../model/grid.js';
import { formatMoney as money, roundCents } from '../model/money.js';
import { chooseRule } from './conditions.js';
import type { LineFacts } from './facts.js';
import { levelReader, type LevelView } from './level-reader.js';
import { renewalKey } from './periods.js';
import { own, renewalWindow, type CounterMove } from './state.js';
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

  // Level history (issue 10): consumption under the previous grids of this layer carries over; the
  // € ceilings are prorated when the grid says so (RELAXEO §2.4.1; levels.ts gives the reading).
  const readCounters = reads.counters as Record<string, string>;
  const level = levelReader(grid, f, state, levels, readCounters);

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
    formulaTerms = level.unitForfaits(rule, months);
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
    const { key, used } = level.used(limit.scope, limit.counter ?? rule.poste, limit.kind);
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
    const { key, used } = level.used(t.scope, counter, 'budget');
    const nominal = t.kind === 'eur' ? new Decimal(t.amount) : roundCents(new Decimal(t.pct).times(f.pmss!).dividedBy(100));
    const total = level.budget(t, counter, key, nominal);
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
  // Each part is rounded to the cent on its own share of FR and MRn: two shares rounded up can
  // pay a cent more than the allowed units' FR − MRn, a cent of the majoration hors parcours that
  // is never covered (found by test/engine/properties.test.ts: PPM × 2 at BR 561.96, RO 30 % hors
  // parcours, 1 unit beyond the count limit → 84.30 + 84.30 = 168.60 against 168.59). Those units
  // as a whole bound the line. The cut is at most one cent (two half-up roundings) and only when the
  // part beyond pays a cent or more, so it is read as taken from that part, which draws on no yearly
  // budget: the budgets the units within consumed stay what they paid (property test "no euro
  // counter grows by more than the line paid").
  if (over && within > 0) {
    const share = new Decimal(allowed).dividedBy(f.quantity);
    const bound = roundCents(Decimal.max(0, f.fr.minus(f.mrn).times(share)));
    if (amc.gt(bound)) {
      formula += `; ${allowed} units at most FR − MRn = ${money(bound)}`;
      amc = bound;
    }
  }
  if (within > 0) for (const key of unitKeys) consumed.push({ key, amount: String(within) });
  consumed.push(...main.budgetUse);

  // Yearly ceilings on what the AMC pays; past one, `beyond` (RELAXEO: the TM) still applies.
  for (const limit of rule.limits ?? []) {
    if (limit.kind !== 'amount') continue;
    const counter = limit.counter ?? rule.poste;
    const { key, used } = level.used(limit.scope, counter, 'amount');
    const max = level.ceiling(counter, key, new Decimal(limit.max));
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

  if (level.notes.length > 0) {
    formula = `${level.notes.join('; ')}; ${formula}`;
    reads.levels = { notes: level.notes, prorations: level.prorations };
  }
  return base({ amc, formula, reasons, capped: main.capped || (over?.capped ?? false) || reasons.length > 0, consumed, renewals, renewalMoves });
}

