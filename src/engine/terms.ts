import { Decimal } from 'decimal.js';
import type { Grid, Term } from '../model/grid.js';
import { formatMoney as money, roundCents } from '../model/money.js';
import type { LineFacts } from './facts.js';
import type { Consumption } from './types.js';

/**
 * G and the AMC for `units` of a line under a sum of terms (domain.md §2):
 *   AMC = max(0, min(G − MRn, FR − MRn))       (yearly budgets and ceilings are applied by the caller)
 * A partial line (some units refused or paid by `beyond`) counts BR, FR and MRn pro rata.
 * Every euro amount a rule produces is rounded to the cent half up where it is produced
 * (1.46 % × 3 925 = 57.305 → 57.31 per night, then × nights).
 */

export interface Budget {
  key: string;
  /** what is left of the yearly budget */
  left: Decimal;
}

export interface TermsResult {
  g: Decimal;
  amc: Decimal;
  /** the guarantee, not the expense, bounded the AMC */
  capped: boolean;
  text: string;
  budgetUse: Consumption[];
  /** a budget term had nothing left */
  exhausted: string[];
  /** data the computation needs is missing (PMSS of the year, the PLV/HLF of a 100 % Santé act) */
  review: string | null;
}

const pctOf = (pct: string, base: Decimal) => roundCents(new Decimal(pct).times(base).dividedBy(100));

export function isBudget(t: Term): t is Extract<Term, { kind: 'eur' | 'pmss_pct' }> {
  return (t.kind === 'eur' || t.kind === 'pmss_pct') && t.per === 'year';
}

/** € or % PMSS only: when the grid's € amounts come on top of the RO part, G adds MRn. */
export function onTopOfRO(grid: Pick<Grid, 'includesRO'>, terms: readonly Term[]): boolean {
  return !grid.includesRO && terms.every((t) => t.kind === 'eur' || t.kind === 'pmss_pct');
}

export function evaluateTerms(
  terms: readonly Term[],
  units: number,
  facts: LineFacts,
  grid: Pick<Grid, 'includesRO'>,
  budgets: ReadonlyMap<Term, Budget>,
  totalCapPerUnit?: Decimal,
): TermsResult {
  const empty: TermsResult = { g: new Decimal(0), amc: new Decimal(0), capped: false, text: '', budgetUse: [], exhausted: [], review: null };
  if (units <= 0 || terms.some((t) => t.kind === 'not_covered')) return empty;
  const frac = new Decimal(units).dividedBy(facts.quantity);
  const whole = units === facts.quantity;
  const br = whole ? facts.br : facts.br.times(frac);
  const fr = whole ? facts.fr : facts.fr.times(frac);
  const mrn = whole ? facts.mrn : facts.mrn.times(frac);
  const pieces: string[] = [];
  let base = new Decimal(0);
  const slots: { term: Term; budget: Budget }[] = [];

  for (const t of terms) {
    switch (t.kind) {
      case 'pct_br': {
        const pct = !facts.line.psDptm && t.pctNonDptm !== undefined ? t.pctNonDptm : t.pct;
        let v = pctOf(pct, br);
        let text = `${pct}% × BR ${money(br)}`;
        if (t.priceLimit && facts.priceLimit) {
          const cap = facts.priceLimit.times(units);
          text = `min(${text}, ${t.priceLimit} ${money(cap)})`;
          v = Decimal.min(v, cap);
        }
        base = base.plus(v);
        pieces.push(`${text} = ${money(v)}`);
        break;
      }
      case 'pct_fr': {
        let v = pctOf(t.pct, fr);
        let text = `${t.pct}% × FR ${money(fr)}`;
        if (t.capPerUnit !== undefined) {
          const cap = new Decimal(t.capPerUnit).times(units);
          text = `min(${text}, ${money(cap)})`;
          v = Decimal.min(v, cap);
        }
        base = base.plus(v);
        pieces.push(`${text} = ${money(v)}`);
        break;
      }
      case 'no_rest_to_pay': {
        // "Sans reste à payer dans la limite des PLV/HLF" is bounded by the limit, not by the bill:
        // without the limit the guarantee is unknown, and paying the expense would pay any figure.
        if (!facts.priceLimit) {
          return { ...empty, review: `the ${t.priceLimit} of act ${facts.line.actCode} is unknown (no price_limit in the nomenclature): a 100 % Santé guarantee "without rest to pay within the ${t.priceLimit}" cannot be computed; add the limit, then replay the line` };
        }
        const cap = facts.priceLimit.times(units);
        const v = Decimal.min(fr, cap);
        base = base.plus(v);
        pieces.push(`min(FR ${money(fr)}, ${t.priceLimit} ${money(cap)}) = ${money(v)}`);
        break;
      }
      case 'eur':
      case 'pmss_pct': {
        let unitAmount: Decimal;
        let label: string;
        if (t.kind === 'eur') {
          unitAmount = new Decimal(t.amount);
          label = `${money(unitAmount)} €`;
        } else {
          if (!facts.pmss) return { ...empty, review: `no PMSS for ${facts.careDate.slice(0, 4)} in pmss.csv: a % PMSS guarantee cannot be computed` };
          unitAmount = pctOf(t.pct, facts.pmss);
          label = `${t.pct}% PMSS ${money(facts.pmss)} = ${money(unitAmount)}`;
        }
        if (t.per === 'year') {
          const budget = budgets.get(t);
          if (!budget) throw new Error('engine bug: a yearly budget term has no budget slot');
          slots.push({ term: t, budget });
          pieces.push(`${label}/year, left ${money(budget.left)}`);
        } else {
          const v = unitAmount.times(units);
          base = base.plus(v);
          pieces.push(`${label} per ${t.per} × ${units} = ${money(v)}`);
        }
        break;
      }
      case 'not_covered':
        return empty;
      default: {
        const never: never = t;
        throw new Error(`unknown term ${JSON.stringify(never)}`);
      }
    }
  }

  const onTop = onTopOfRO(grid, terms);
  if (onTop) {
    base = base.plus(mrn);
    pieces.push(`RO part ${money(mrn)}`);
  }
  const budgetTotal = slots.reduce((s, x) => s.plus(x.budget.left), new Decimal(0));
  let g = base.plus(budgetTotal);
  let capText = '';
  if (totalCapPerUnit) {
    const cap = totalCapPerUnit.times(units);
    if (g.gt(cap)) capText = `, capped at ${money(cap)} incl. RO`;
    g = Decimal.min(g, cap);
  }
  const byGuarantee = g.minus(mrn);
  const byExpense = fr.minus(mrn);
  const amc = roundCents(Decimal.max(0, Decimal.min(byGuarantee, byExpense)));

  // Budgets fill what the other terms left: used = (RO part + AMC) − the non-budget terms.
  let toTake = Decimal.max(0, mrn.plus(amc).minus(base));
  const budgetUse: Consumption[] = [];
  const exhausted: string[] = [];
  for (const { budget } of slots) {
    if (budget.left.lte(0)) exhausted.push(budget.key);
    const take = Decimal.min(toTake, budget.left);
    if (take.gt(0)) budgetUse.push({ key: budget.key, amount: money(roundCents(take)) });
    toTake = toTake.minus(take);
  }

  const prefix = whole ? '' : `${units} of ${facts.quantity} units: `;
  const text = `${prefix}G = ${pieces.join(' + ')}${pieces.length > 1 ? ` = ${money(g)}` : ''}${capText}; AMC = min(${money(g)} − ${money(mrn)}, ${money(fr)} − ${money(mrn)}) = ${money(amc)}`;
  return { g, amc, capped: byGuarantee.lt(byExpense), text, budgetUse, exhausted, review: null };
}
