import type { IsoDate } from '../../model/dates.js';
import { beforeDaysAfter } from './days.js';
import type { NomenclatureEntry } from '../../model/nomenclature.js';
import type { ActLine } from '../../model/act-line.js';
import type { Beneficiary } from '../../model/reference.js';
import { inForce, unmet } from '../conditions.js';
import type { LineFacts } from '../facts.js';
import { counterKey, renewalKey } from '../periods.js';
import { own, renewalWindow, type CounterMove } from '../state.js';
import type { Consumption, EngineState, RenewalEntry } from '../types.js';
import { money, pctOfCents } from './cents.js';
import type { CompiledGrid, CompiledRule, CompiledTerm } from './compile.js';
import { EMPTY_OBJECT_TOKEN, nested, type Digester } from './digest.js';

/**
 * grid-liquidation.ts and terms.ts in integer cents, for the shapes they compute exactly: whole
 * units only (a partial line — some units refused or beyond a limit — is BR × units / quantity,
 * which decimal.js rounds at 20 digits: decimal path), no waiting period in effect. Anything else
 * returns FALLBACK before the state is touched, and the line goes the decimal.js way. The texts
 * (formula, reasons) are the decimal path's, word for word; the equivalence test and the bench
 * check hold them to it.
 */

export const FALLBACK = Symbol('fallback');
export type Fallback = typeof FALLBACK;

/** LineFacts with cents instead of Decimals; `line`, `entry`, `age`, `setting` as conditions.ts reads them. */
export interface CentsFacts {
  line: ActLine;
  beneficiary: Beneficiary;
  entry: NomenclatureEntry;
  poste: string;
  setting: 'hospital' | 'town';
  careDate: IsoDate;
  age: number;
  quantity: number;
  br: number;
  fr: number;
  mrn: number;
  roGross: number;
  pf: number;
  franchise: number;
  pmss: number | undefined;
  pmssText: string | undefined;
  priceLimit: number | undefined;
}

export interface CentsOutcome {
  contract: string;
  amc: number;
  rule: string | null;
  formula: string;
  reasons: string[];
  capped: boolean;
  consumed: Consumption[];
  renewals: { key: string; entry: RenewalEntry }[];
  renewalMoves: CounterMove[];
  review: string | null;
  /** token of what the decision read (grid-liquidation.ts `reads`): `#` + digest */
  reads: string;
}

interface Budget {
  key: string;
  left: number;
}

interface TermsResult {
  g: number;
  amc: number;
  capped: boolean;
  text: string;
  budgetUse: Consumption[];
  exhausted: string[];
  review: string | null;
}

const EMPTY: TermsResult = { g: 0, amc: 0, capped: false, text: '', budgetUse: [], exhausted: [], review: null };
const NO_BUDGETS: readonly (Budget | undefined)[] = [];

/** terms.ts evaluateTerms for `units` ∈ {0, quantity}. */
function evaluate(
  terms: readonly CompiledTerm[],
  onlyAmounts: boolean,
  units: number,
  f: CentsFacts,
  includesRO: boolean,
  budgets: readonly (Budget | undefined)[],
  totalCapPerUnit: number | undefined,
): TermsResult | Fallback {
  if (units <= 0) return EMPTY;
  for (let i = 0; i < terms.length; i++) if (terms[i]!.kind === 'not_covered') return EMPTY;
  if (units !== f.quantity) return FALLBACK;
  const { br, fr, mrn } = f;
  // The terms' texts joined by ' + ' as they come (terms.ts pieces.join(' + ')), no list.
  let sum = '';
  let count = 0;
  let base = 0;
  let slots: Budget[] | undefined;
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i]!;
    switch (t.kind) {
      case 'pct_br': {
        const nonDptm = !f.line.psDptm && t.nonDptm !== undefined;
        const pctText = nonDptm ? t.nonDptmText! : t.pctText;
        let v = pctOfCents(nonDptm ? t.nonDptm! : t.pct, br);
        if (Number.isNaN(v)) return FALLBACK;
        let text = `${pctText}% × BR ${money(br)}`;
        if (t.priceLimit && f.priceLimit !== undefined) {
          const cap = f.priceLimit * units;
          text = `min(${text}, ${t.priceLimit} ${money(cap)})`;
          if (cap < v) v = cap;
        }
        base += v;
        sum = count++ === 0 ? `${text} = ${money(v)}` : `${sum} + ${text} = ${money(v)}`;
        break;
      }
      case 'pct_fr': {
        let v = pctOfCents(t.pct, fr);
        if (Number.isNaN(v)) return FALLBACK;
        let text = `${t.pctText}% × FR ${money(fr)}`;
        if (t.capPerUnit !== undefined) {
          const cap = t.capPerUnit * units;
          text = `min(${text}, ${money(cap)})`;
          if (cap < v) v = cap;
        }
        base += v;
        sum = count++ === 0 ? `${text} = ${money(v)}` : `${sum} + ${text} = ${money(v)}`;
        break;
      }
      case 'no_rest_to_pay': {
        if (f.priceLimit === undefined) {
          return { ...EMPTY, review: `the ${t.priceLimit} of act ${f.line.actCode} is unknown (no price_limit in the nomenclature): a 100 % Santé guarantee "without rest to pay within the ${t.priceLimit}" cannot be computed; add the limit, then replay the line` };
        }
        const cap = f.priceLimit * units;
        const v = fr < cap ? fr : cap;
        base += v;
        const piece = `min(FR ${money(fr)}, ${t.priceLimit} ${money(cap)}) = ${money(v)}`;
        sum = count++ === 0 ? piece : `${sum} + ${piece}`;
        break;
      }
      case 'eur':
      case 'pmss_pct': {
        let unitAmount: number;
        let label: string;
        if (t.kind === 'eur') {
          unitAmount = t.amount;
          label = `${money(unitAmount)} €`;
        } else {
          if (f.pmss === undefined) return { ...EMPTY, review: `no PMSS for ${f.careDate.slice(0, 4)} in pmss.csv: a % PMSS guarantee cannot be computed` };
          unitAmount = pctOfCents(t.pct, f.pmss);
          if (Number.isNaN(unitAmount)) return FALLBACK;
          label = `${t.pctText}% PMSS ${money(f.pmss)} = ${money(unitAmount)}`;
        }
        if (t.budget) {
          const budget = budgets[i];
          if (!budget) throw new Error('engine bug: a yearly budget term has no budget slot');
          (slots ??= []).push(budget);
          const piece = `${label}/year, left ${money(budget.left)}`;
          sum = count++ === 0 ? piece : `${sum} + ${piece}`;
        } else {
          const v = unitAmount * units;
          base += v;
          const piece = `${label} per ${t.per} × ${units} = ${money(v)}`;
          sum = count++ === 0 ? piece : `${sum} + ${piece}`;
        }
        break;
      }
      default:
        return EMPTY;
    }
  }
  if (!includesRO && onlyAmounts) {
    base += mrn;
    sum = count++ === 0 ? `RO part ${money(mrn)}` : `${sum} + RO part ${money(mrn)}`;
  }
  let g = base;
  if (slots) for (const s of slots) g += s.left;
  let capText = '';
  if (totalCapPerUnit !== undefined) {
    const cap = totalCapPerUnit * units;
    if (g > cap) {
      capText = `, capped at ${money(cap)} incl. RO`;
      g = cap;
    }
  }
  if (!Number.isSafeInteger(g)) return FALLBACK;
  const byGuarantee = g - mrn;
  const byExpense = fr - mrn;
  const least = byGuarantee < byExpense ? byGuarantee : byExpense;
  const amc = least > 0 ? least : 0;

  let budgetUse: Consumption[] = EMPTY.budgetUse;
  let exhausted: string[] = EMPTY.exhausted;
  if (slots) {
    budgetUse = [];
    exhausted = [];
    let toTake = mrn + amc - base;
    if (toTake < 0) toTake = 0;
    for (const budget of slots) {
      if (budget.left <= 0) exhausted.push(budget.key);
      const take = toTake < budget.left ? toTake : budget.left;
      if (take > 0) budgetUse.push({ key: budget.key, amount: money(take) });
      toTake -= take;
    }
  }
  const mrnText = money(mrn);
  const gText = money(g);
  const text = `G = ${sum}${count > 1 ? ` = ${gText}` : ''}${capText}; AMC = min(${gText} − ${mrnText}, ${money(fr)} − ${mrnText}) = ${money(amc)}`;
  return { g, amc, capped: byGuarantee < byExpense, text, budgetUse, exhausted, review: null };
}

/** prefixes.some((p) => text.startsWith(p)), without a closure per call. */
function startsWithOneOf(text: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (text.startsWith(p)) return true;
  return false;
}

function monthsFor(r: NonNullable<CompiledRule['rule']['renewal']>, age: number): number {
  const band = r.periods.find((p) => p.ageBelow === undefined || age < p.ageBelow) ?? r.periods[r.periods.length - 1]!;
  return band.months;
}

/** A stored counter value: integer text for count/days, Money (or an integer) for amounts; NaN otherwise. */
export function counterUnits(text: string | undefined): number {
  if (text === undefined) return 0;
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

export function counterCents(text: string | undefined): number {
  if (text === undefined) return 0;
  if (/^\d{1,12}\.\d{2}$/.test(text)) return Number(text.replace('.', ''));
  return /^\d{1,12}$/.test(text) ? Number(text) * 100 : Number.NaN;
}

function readsToken(grid: CompiledGrid, rule: CompiledRule, counters: Map<string, string> | undefined, renewals: Map<string, readonly RenewalEntry[]> | undefined, digester: Digester): string {
  // A rule that read no counter and no renewal (most lines): the same token for every line, built once.
  if (!counters && !renewals) return (rule.plainReadsToken ??= nested(`{counters:${EMPTY_OBJECT_TOKEN},grid:${grid.readsToken},renewals:${EMPTY_OBJECT_TOKEN},rule:${rule.token},}`));
  let c = EMPTY_OBJECT_TOKEN;
  if (counters) {
    let text = '{';
    for (const k of [...counters.keys()].sort()) text += `${k}:"${counters.get(k)!}",`;
    c = nested(`${text}}`);
  }
  let r = EMPTY_OBJECT_TOKEN;
  if (renewals) {
    let text = '{';
    for (const k of [...renewals.keys()].sort()) text += `${k}:#${digester.digest(renewals.get(k))},`;
    r = nested(`${text}}`);
  }
  return nested(`{counters:${c},grid:${grid.readsToken},renewals:${r},rule:${rule.token},}`);
}

/** The rule that applies, or the reason none does (a string): no object per grid and line. */
function choose(grid: CompiledGrid, f: CentsFacts): CompiledRule | string {
  const ofPoste = grid.rulesByPoste.get(f.poste);
  const gridId = grid.grid.id;
  if (!ofPoste) return `${gridId} has no guarantee for ${f.poste} (act ${f.line.actCode})`;
  let first: CompiledRule | undefined;
  const facts = f as unknown as LineFacts;
  for (let i = 0; i < ofPoste.length; i++) {
    const r = ofPoste[i]!;
    if (!inForce(r.rule, f.careDate)) continue;
    first ??= r;
    if (unmet(r.rule.conditions, facts) === null) return r;
  }
  if (!first) return `no guarantee of ${gridId} for ${f.poste} was in force on ${f.careDate}`;
  return `${gridId}, ${f.poste}: ${unmet(first.rule.conditions, facts) ?? 'no rule applies'}`;
}

function outcome(contract: string, rule: string | null, reads: string, partial: Partial<CentsOutcome>): CentsOutcome {
  // Spelled out rather than `{ ...defaults, ...partial }`: one object per grid and line.
  return {
    contract, amc: partial.amc ?? 0, rule, formula: partial.formula ?? '', reasons: partial.reasons ?? NONE, capped: partial.capped ?? false,
    consumed: partial.consumed ?? NONE, renewals: partial.renewals ?? NONE, renewalMoves: partial.renewalMoves ?? NONE, review: partial.review ?? null, reads,
  };
}

// Shared empty list for outcomes that consume nothing; frozen: ledgers keep it, nobody may push to it.
const NONE = Object.freeze([]) as unknown as never[];

/** `list` with `item` at its end: a new list in place of the shared NONE, else pushed to. */
function add<T>(list: T[], item: T): T[] {
  if (list === NONE) return [item];
  list.push(item);
  return list;
}

/** grid-liquidation.ts liquidateGrid in cents; FALLBACK for what it does not compute exactly. */
export function liquidateGridCents(grid: CompiledGrid, f: CentsFacts, state: EngineState, lineKey: string, digester: Digester): CentsOutcome | Fallback {
  const g = grid.grid;
  const c = choose(grid, f);
  if (typeof c === 'string') return outcome(g.id, null, grid.noRuleReadsToken, { reasons: [c], formula: c });
  if (!c.exact) return FALLBACK;
  const rule = c.rule;
  if (rule.formula[0]?.kind === 'not_covered') {
    const why = `${g.id} does not cover ${rule.poste}${rule.note ? ` (${rule.note})` : ''}`;
    return outcome(g.id, rule.id, readsToken(grid, c, undefined, undefined, digester), { reasons: [why], formula: why });
  }
  const b = f.beneficiary;
  const includesRO = rule.includesRO ?? g.includesRO;
  if (g.waitingPeriods && g.waitingPeriods.length > 0) {
    for (const w of g.waitingPeriods) {
      if (startsWithOneOf(f.poste, w.postePrefixes) && beforeDaysAfter(f.careDate, b.start, w.days) && !(w.exceptAccident && f.line.accident)) return FALLBACK;
    }
  }

  let counters: Map<string, string> | undefined;
  let renewalReads: Map<string, readonly RenewalEntry[]> | undefined;
  // Made when first pushed to (most lines read no counter, consume nothing, renew nothing): the
  // shared frozen NONE otherwise. No closure over them, so no context object per call either.
  let reasons: string[] = NONE;
  let consumed: Consumption[] = NONE;
  let renewals: CentsOutcome['renewals'] = NONE;
  let renewalMoves: CounterMove[] = NONE;

  let allowed = f.quantity;
  if (rule.renewal) {
    const r = rule.renewal;
    const element = r.element ?? (r.elementAttribute !== undefined ? own(f.entry.attributes, r.elementAttribute) : undefined);
    if (element === undefined) return outcome(g.id, rule.id, readsToken(grid, c, counters, renewalReads, digester), { review: `act ${f.line.actCode} has no ${r.elementAttribute} attribute in the nomenclature: renewal of ${r.group} cannot be checked` });
    const side = f.line.side;
    const capacity = side !== null ? 1 : (own(r.unitsPerElement, element) ?? 1);
    const months = monthsFor(r, f.age);
    const key = renewalKey(b, r.group, element, side);
    const entries: readonly RenewalEntry[] = own(state.renewals, key) ?? [];
    (renewalReads ??= new Map()).set(key, entries);
    const w = renewalWindow(entries, f.careDate, months, capacity);
    allowed = Math.min(allowed, w.left);
    if (allowed < f.quantity) {
      reasons = add(reasons, `renewal period not over: ${element}${side ? ` (${side})` : ''} already reimbursed on ${w.since}; next one from ${w.until} (one per ${months} months at age ${f.age}); an earlier renewal needs a prescription showing a change of sight or a medical situation`);
    }
    if (allowed > 0) {
      renewals = add(renewals, { key, entry: { date: f.careDate, units: allowed, lineKey } });
      renewalMoves = add(renewalMoves, { key, before: w.until === null ? 'none' : `${w.since}:${w.used}`, after: `${w.since}:${w.used + allowed}` });
    }
  }

  const limits = rule.limits ?? [];
  let within = allowed;
  let unitKeys: string[] | undefined;
  for (let l = 0; l < limits.length; l++) {
    const limit = limits[l]!;
    if (limit.kind !== 'count' && limit.kind !== 'days') continue;
    const key = counterKey(g, b, limit.scope, limit.counter ?? rule.poste, limit.kind, f.careDate);
    const used = counterUnits(own(state.counters, key));
    if (Number.isNaN(used)) return FALLBACK;
    (counters ??= new Map()).set(key, String(used));
    const left = Math.max(0, limit.max - used);
    if (left < within) {
      const what = limit.kind === 'days' ? 'days' : `${f.entry.unit}s`;
      reasons = add(reasons, `yearly limit of ${limit.max} ${what} reached for ${limit.counter ?? rule.poste} (${used} before this line)${rule.beyond ? ', the rest is paid at the rate beyond the limit' : ''}`);
      within = left;
    }
    (unitKeys ??= []).push(key);
  }
  const beyondUnits = allowed - within;

  let budgets: (Budget | undefined)[] | undefined;
  for (let i = 0; i < c.formula.length; i++) {
    const t = c.formula[i]!;
    if ((t.kind !== 'eur' && t.kind !== 'pmss_pct') || !t.budget) continue;
    const term = rule.formula[i]! as Extract<typeof rule.formula[number], { kind: 'eur' | 'pmss_pct' }>;
    const key = counterKey(g, b, term.scope, term.counter ?? rule.poste, 'budget', f.careDate);
    if (t.kind === 'pmss_pct' && f.pmss === undefined) return outcome(g.id, rule.id, readsToken(grid, c, counters, renewalReads, digester), { review: `no PMSS for ${f.careDate.slice(0, 4)} in pmss.csv: ${rule.id} cannot be computed` });
    const total = t.kind === 'eur' ? t.amount : pctOfCents(t.pct, f.pmss!);
    const used = counterCents(own(state.counters, key));
    if (Number.isNaN(used) || Number.isNaN(total)) return FALLBACK;
    (counters ??= new Map()).set(key, money(used));
    (budgets ??= [])[i] = { key, left: Math.max(0, total - used) };
  }

  const main = evaluate(c.formula, c.formulaOnlyAmounts, within, f, includesRO, budgets ?? NO_BUDGETS, c.totalCapPerUnit);
  if (main === FALLBACK) return FALLBACK;
  if (main.review) return outcome(g.id, rule.id, readsToken(grid, c, counters, renewalReads, digester), { review: main.review });
  const over = beyondUnits > 0 && c.beyond ? evaluate(c.beyond, c.beyondOnlyAmounts, beyondUnits, f, includesRO, NO_BUDGETS, c.totalCapPerUnit) : null;
  if (over === FALLBACK) return FALLBACK;
  if (over?.review) return outcome(g.id, rule.id, readsToken(grid, c, counters, renewalReads, digester), { review: over.review });
  for (const key of main.exhausted) reasons = add(reasons, `yearly forfait ${key.split('|')[2]} already used up`);
  let amc = main.amc + (over ? over.amc : 0);
  let formula = main.text || (within === 0 ? 'no unit within the limits: 0.00' : '');
  if (over) formula += `; ${beyondUnits} beyond the limit: ${over.text}`;
  if (within > 0 && unitKeys) for (const key of unitKeys) consumed = add(consumed, { key, amount: String(within) });
  for (const u of main.budgetUse) consumed = add(consumed, u);

  for (let i = 0; i < limits.length; i++) {
    const limit = limits[i]!;
    if (limit.kind !== 'amount') continue;
    const key = counterKey(g, b, limit.scope, limit.counter ?? rule.poste, 'amount', f.careDate);
    const used = counterCents(own(state.counters, key));
    if (Number.isNaN(used)) return FALLBACK;
    (counters ??= new Map()).set(key, money(used));
    const max = c.amountLimitMax[i]!;
    const left = Math.max(0, max - used);
    if (amc > left) {
      let fallback = 0;
      if (c.beyond) {
        const tm = evaluate(c.beyond, c.beyondOnlyAmounts, allowed, f, includesRO, NO_BUDGETS, c.totalCapPerUnit);
        if (tm === FALLBACK) return FALLBACK;
        fallback = tm.amc;
      }
      const capped = Math.min(amc, Math.max(left, fallback));
      const tail = fallback > left ? `, paid at the rate beyond the ceiling (${money(fallback)})` : left > 0 ? `, ${money(left)} left` : '';
      reasons = add(reasons, `yearly ceiling ${limit.counter ?? rule.poste} of ${limit.max} reached (${money(used)} used)${tail}`);
      formula += `; ceiling ${limit.counter ?? rule.poste} ${limit.max}, left ${money(left)}${fallback > 0 ? `, beyond ${money(fallback)}` : ''} → ${money(capped)}`;
      amc = capped;
    }
    const take = Math.min(amc, left);
    if (take > 0) consumed = add(consumed, { key, amount: money(take) });
  }

  return {
    contract: g.id, amc, rule: rule.id, formula, reasons, capped: main.capped || (over ? over.capped : false) || reasons.length > 0,
    consumed, renewals, renewalMoves, review: null, reads: readsToken(grid, c, counters, renewalReads, digester),
  };
}
