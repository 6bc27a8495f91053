import { Decimal } from 'decimal.js';
import { formatMoney, ZERO } from '../model/money.js';
import type { Beneficiary } from '../model/reference.js';
import type { ReliquidationCause, Settlement } from '../model/settlement.js';
import { CATEGORIES, categoryOf, type CategoryId } from './categories.js';
import { frenchDate } from './format.js';

/**
 * The data of a member statement ("historique des remboursements", seed 001): for one family and a
 * period of care dates, each act with its care date, beneficiary, act, the RO amount, the AMC amount
 * and the rest to pay; totals; and the same sums per care category for the chart. Pure: built from
 * the settlements (latest version of each line; a line whose latest version is an annulation is
 * gone) and the beneficiaries (names).
 */

export interface StatementRequest {
  adherentId: string;
  /** care dates from … to, inclusive (YYYY-MM-DD) */
  from: string;
  to: string;
}

/**
 * What a statement reads of a settlement (the member statement index keeps only this:
 * src/pipeline/statement-index.ts). A whole Settlement is one.
 */
export type StatementSettlement = Pick<
  Settlement,
  'lineKey' | 'beneficiary' | 'adherentId' | 'careDate' | 'actCode' | 'poste' | 'status' | 'reason' | 'expense' | 'roAmount' | 'amcAmount' | 'restToPay' | 'version' | 'operation' | 'reliquidation'
>;

export interface Amounts {
  expense: string;
  roAmount: string;
  amcAmount: string;
  restToPay: string;
}

export interface StatementLine extends Amounts {
  lineKey: string;
  careDate: string;
  beneficiary: string;
  actCode: string;
  actLabel: string;
  category: CategoryId;
  status: Settlement['status'];
  /** why the AMC paid less than asked, in plain words, when it did */
  reason: string | null;
  /** the line was decided again after a change of the membership: "régularisation suite à résiliation du 30/04/2025" */
  regularisation: string | null;
}

export interface CategoryTotal extends Amounts {
  category: CategoryId;
  label: string;
  lines: number;
}

export interface StatementData {
  adherentId: string;
  holder: string;
  from: string;
  to: string;
  lines: StatementLine[];
  totals: Amounts;
  byCategory: CategoryTotal[];
}

const sum = (values: readonly string[]) => formatMoney(values.reduce((s, v) => s.plus(v), ZERO));
const totalsOf = (lines: readonly Amounts[]): Amounts => ({
  expense: sum(lines.map((l) => l.expense)),
  roAmount: sum(lines.map((l) => l.roAmount)),
  amcAmount: sum(lines.map((l) => l.amcAmount)),
  restToPay: sum(lines.map((l) => l.restToPay)),
});

export function statementData(
  request: StatementRequest,
  settlements: Iterable<StatementSettlement>,
  beneficiaries: Iterable<Beneficiary>,
  actLabels: Readonly<Record<string, string>> = {},
): StatementData {
  const names = new Map<string, string>();
  let holder = request.adherentId;
  for (const b of beneficiaries) {
    if (b.adherentId !== request.adherentId) continue;
    names.set(`${b.nir}-${b.rang}`, b.name);
    if (b.role === 'A') holder = b.name;
  }
  // only this family's lines in the period are kept: memory follows the statement, not the input
  const latest = new Map<string, StatementSettlement>();
  for (const s of settlements) {
    if (s.adherentId !== request.adherentId || s.careDate < request.from || s.careDate > request.to) continue;
    const prev = latest.get(s.lineKey);
    if (!prev || prev.version < s.version) latest.set(s.lineKey, s);
  }
  const lines: StatementLine[] = [...latest.values()]
    .filter((s) => s.operation !== 'A')
    .map((s) => ({
      lineKey: s.lineKey,
      careDate: s.careDate,
      beneficiary: names.get(`${s.beneficiary.nir}-${s.beneficiary.rang}`) ?? `bénéficiaire rang ${s.beneficiary.rang}`,
      actCode: s.actCode,
      actLabel: Object.hasOwn(actLabels, s.actCode) ? actLabels[s.actCode]! : s.actCode,
      category: categoryOf(s.poste),
      status: s.status,
      reason: s.reason,
      regularisation: s.reliquidation ? regularisationText(s.reliquidation) : null,
      expense: s.expense,
      roAmount: s.roAmount,
      amcAmount: s.amcAmount,
      restToPay: s.restToPay,
    }))
    .sort((a, b) => (a.careDate === b.careDate ? (a.lineKey < b.lineKey ? -1 : 1) : a.careDate < b.careDate ? -1 : 1));
  const byCategory = CATEGORIES.map(({ id, label }) => {
    const of = lines.filter((l) => l.category === id);
    return { category: id, label, lines: of.length, ...totalsOf(of) };
  }).filter((c) => c.lines > 0);
  return { adherentId: request.adherentId, holder, from: request.from, to: request.to, lines, totals: totalsOf(lines), byCategory };
}

/**
 * Event types of the membership feed in the member's words; a type not listed is printed as
 * it is (dashes as spaces) rather than hidden.
 */
const EVENT_WORDS: Readonly<Record<string, string>> = {
  'affiliation-end': 'résiliation', 'resiliation': 'résiliation', 'beneficiary-removed': 'radiation d’un bénéficiaire',
  'affiliation-start': 'adhésion', 'family-created': 'adhésion', 'beneficiary-added': 'ajout d’un bénéficiaire',
  'suspension': 'suspension', 'suspension-lifted': 'levée de suspension', 'level-change': 'changement de garantie', 'contract-change': 'changement de garantie',
  'proof': 'justificatif', 'proof-of-studies': 'justificatif de scolarité', 'proof-of-disability': 'justificatif d’invalidité', 'grid-correction': 'correction de garantie',
};

/** "régularisation suite à résiliation du 30/04/2025" */
export function regularisationText(cause: ReliquidationCause): string {
  const words = Object.hasOwn(EVENT_WORDS, cause.type) ? EVENT_WORDS[cause.type]! : cause.type.replaceAll(/[-_]/g, ' ');
  return `régularisation suite à ${words} du ${frenchDate(cause.effectiveDate)}`;
}

/** Largest expense of the categories, the chart's full scale (0 when there is nothing). */
export function chartScale(categories: readonly CategoryTotal[]): Decimal {
  return categories.reduce((m, c) => Decimal.max(m, c.expense), ZERO);
}
