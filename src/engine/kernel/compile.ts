import type { Grid, GridRule, Term } from '../../model/grid.js';
import type { NomenclatureEntry } from '../../model/nomenclature.js';
import { cents, ratio, type Ratio } from './cents.js';
import { Digester, nested } from './digest.js';
import { EligibilityGuard } from './eligibility.js';
import type { LiquidationContext } from '../types.js';

/**
 * Reference data compiled once per kernel (per context): each grid's rules grouped by poste in
 * file order, every term's amounts and percentages parsed to integers, the hash token text of each
 * rule, grid and nomenclature entry. A rule the kernel cannot compile exactly (an amount that is
 * not Money, a rate with more digits than integers hold) is kept with `exact: false`: lines that
 * reach it take the decimal.js path.
 */

export type CompiledTerm =
  | { kind: 'pct_br'; term: Term; pct: Ratio; pctText: string; nonDptm?: Ratio; nonDptmText?: string; priceLimit?: string }
  | { kind: 'pct_fr'; term: Term; pct: Ratio; pctText: string; capPerUnit?: number }
  | { kind: 'no_rest_to_pay'; term: Term; priceLimit: string }
  | { kind: 'eur'; term: Term; amount: number; per: string; budget: boolean }
  | { kind: 'pmss_pct'; term: Term; pct: Ratio; pctText: string; per: string; budget: boolean }
  | { kind: 'not_covered'; term: Term };

export interface CompiledRule {
  rule: GridRule;
  /** `#` + digest of the rule (its token in the hash of what a decision read) */
  token: string;
  exact: boolean;
  formula: CompiledTerm[];
  beyond: CompiledTerm[] | undefined;
  /** every term € or % PMSS: with includesRO false, G adds the RO part (terms.ts onTopOfRO) */
  formulaOnlyAmounts: boolean;
  beyondOnlyAmounts: boolean;
  totalCapPerUnit: number | undefined;
  amountLimitMax: number[];
  /** grid.ts readsToken when the rule read no counter and no renewal: filled on first use */
  plainReadsToken: string | undefined;
}

export interface CompiledGrid {
  grid: Grid;
  /** token of `{ id, includesRO, yearBasis }` (grid-liquidation.ts gridReads) */
  readsToken: string;
  rulesByPoste: Map<string, CompiledRule[]>;
  /** token of the grid's eligibility block or null (decide.ts, eligibility verdicts) */
  eligibilityToken: string;
  /** grid-liquidation.ts reads when no rule applies: `{ grid, rule: null }` */
  noRuleReadsToken: string;
}

export interface CompiledEntry {
  entry: NomenclatureEntry;
  token: string;
  roRate: Ratio | undefined;
  priceLimit: number | undefined;
  /** price_limit present but not Money: decimal path */
  exact: boolean;
}

function compileTerm(t: Term): CompiledTerm | undefined {
  switch (t.kind) {
    case 'pct_br': {
      const pct = ratio(t.pct);
      const nonDptm = t.pctNonDptm === undefined ? undefined : ratio(t.pctNonDptm);
      if (!pct || (t.pctNonDptm !== undefined && !nonDptm)) return undefined;
      return { kind: 'pct_br', term: t, pct, pctText: t.pct, ...(nonDptm ? { nonDptm, nonDptmText: t.pctNonDptm } : {}), ...(t.priceLimit ? { priceLimit: t.priceLimit } : {}) };
    }
    case 'pct_fr': {
      const pct = ratio(t.pct);
      const cap = t.capPerUnit === undefined ? undefined : cents(t.capPerUnit);
      if (!pct || (cap !== undefined && Number.isNaN(cap))) return undefined;
      return { kind: 'pct_fr', term: t, pct, pctText: t.pct, ...(cap !== undefined ? { capPerUnit: cap } : {}) };
    }
    case 'no_rest_to_pay':
      return { kind: 'no_rest_to_pay', term: t, priceLimit: t.priceLimit };
    case 'eur': {
      const amount = cents(t.amount);
      return Number.isNaN(amount) ? undefined : { kind: 'eur', term: t, amount, per: t.per, budget: t.per === 'year' };
    }
    case 'pmss_pct': {
      const pct = ratio(t.pct);
      return pct ? { kind: 'pmss_pct', term: t, pct, pctText: t.pct, per: t.per, budget: t.per === 'year' } : undefined;
    }
    case 'not_covered':
      return { kind: 'not_covered', term: t };
    default:
      return undefined;
  }
}

function compileTerms(terms: readonly Term[]): CompiledTerm[] | undefined {
  const out: CompiledTerm[] = [];
  for (const t of terms) {
    const c = compileTerm(t);
    if (!c) return undefined;
    out.push(c);
  }
  return out;
}

const onlyAmounts = (terms: readonly Term[]) => terms.every((t) => t.kind === 'eur' || t.kind === 'pmss_pct');

function compileRule(rule: GridRule, digester: Digester): CompiledRule {
  const formula = compileTerms(rule.formula);
  const beyond = rule.beyond ? compileTerms(rule.beyond) : undefined;
  const totalLimit = (rule.limits ?? []).find((l) => l.kind === 'total_per_unit');
  const totalCapPerUnit = totalLimit ? cents(totalLimit.max) : undefined;
  const amountLimitMax = (rule.limits ?? []).map((l) => (l.kind === 'amount' ? cents(l.max) : 0));
  const exact = formula !== undefined && (rule.beyond === undefined || beyond !== undefined) && !Number.isNaN(totalCapPerUnit) && !amountLimitMax.some(Number.isNaN);
  return {
    rule,
    token: `#${digester.digestOnce(rule)}`,
    exact,
    formula: formula ?? [],
    beyond,
    formulaOnlyAmounts: onlyAmounts(rule.formula),
    beyondOnlyAmounts: rule.beyond ? onlyAmounts(rule.beyond) : false,
    totalCapPerUnit,
    amountLimitMax,
    // Present from the start (filled on first use): a key added later would give the rules two shapes.
    plainReadsToken: undefined,
  };
}

export function compileGrid(grid: Grid, digester: Digester): CompiledGrid {
  const rulesByPoste = new Map<string, CompiledRule[]>();
  for (const rule of grid.rules) {
    const list = rulesByPoste.get(rule.poste) ?? [];
    list.push(compileRule(rule, digester));
    rulesByPoste.set(rule.poste, list);
  }
  const readsToken = `#${digester.digest({ id: grid.id, includesRO: grid.includesRO, yearBasis: grid.yearBasis })}`;
  return {
    grid,
    readsToken,
    noRuleReadsToken: nested(`{grid:${readsToken},rule:n,}`),
    rulesByPoste,
    eligibilityToken: grid.eligibility ? `#${digester.digest(grid.eligibility)}` : 'n',
  };
}

export function compileEntry(entry: NomenclatureEntry, digester: Digester): CompiledEntry {
  const limit = entry.attributes.price_limit;
  const priceLimit = limit === undefined ? undefined : cents(limit);
  return { entry, token: `#${digester.digestOnce(entry)}`, roRate: ratio(entry.roRate), priceLimit, exact: !Number.isNaN(priceLimit) };
}

/** Compiled lookups of one context, filled lazily (an act code or a grid is compiled when first met). */
export class CompiledReference {
  readonly digester = new Digester();
  readonly eligibility = new EligibilityGuard();
  private readonly grids = new Map<string, CompiledGrid | null>();
  private readonly entries = new Map<string, CompiledEntry | null>();
  private readonly pmss = new Map<number, { cents: number; text: string } | undefined>();
  private readonly rates = new Map<string, Ratio | undefined>();
  private readonly gridLists = new WeakMap<readonly string[], CompiledGrid[] | string>();

  constructor(readonly context: Omit<LiquidationContext, 'asOf'>) {}

  grid(id: string): CompiledGrid | null {
    let g = this.grids.get(id);
    if (g === undefined) {
      const grid = Object.hasOwn(this.context.grids, id) ? this.context.grids[id] : undefined;
      g = grid ? compileGrid(grid, this.digester) : null;
      this.grids.set(id, g);
    }
    return g;
  }

  entry(actCode: string): CompiledEntry | null {
    let e = this.entries.get(actCode);
    if (e === undefined) {
      const entry = Object.hasOwn(this.context.nomenclature, actCode) ? this.context.nomenclature[actCode] : undefined;
      e = entry ? compileEntry(entry, this.digester) : null;
      this.entries.set(actCode, e);
    }
    return e;
  }

  /** PMSS of a year in cents; undefined when pmss.csv lacks the year; NaN when it is not Money. */
  pmssOf(year: number): { cents: number; text: string } | undefined {
    if (this.pmss.has(year)) return this.pmss.get(year);
    const text = this.context.pmss[year];
    const p = text === undefined ? undefined : { cents: cents(text), text };
    this.pmss.set(year, p);
    return p;
  }

  /** `ratio(text)` once per distinct rate text (a line's ro_rate: a handful of values). */
  rate(text: string): Ratio | undefined {
    let r = this.rates.get(text);
    if (r === undefined && !this.rates.has(text)) {
      r = ratio(text);
      if (this.rates.size > 4096) this.rates.clear();
      this.rates.set(text, r);
    }
    return r;
  }

  /** The compiled grids of a beneficiary's contracts, or the first contract id without a grid; once per contracts array. */
  gridsOf(contracts: readonly string[]): CompiledGrid[] | string {
    let list = this.gridLists.get(contracts);
    if (list === undefined) {
      const grids: CompiledGrid[] = [];
      list = grids;
      for (const id of contracts) {
        const g = this.grid(id);
        if (!g) {
          list = id;
          break;
        }
        grids.push(g);
      }
      this.gridLists.set(contracts, list);
    }
    return list;
  }
}
