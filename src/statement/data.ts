import { Decimal } from 'decimal.js';
import { sumMoneyText } from '../model/cents.js';
import { ZERO } from '../model/money.js';
import type { Beneficiary } from '../model/reference.js';
import type { MembershipEventType } from '../model/membership.js';
import type { ReliquidationCause, Settlement } from '../model/settlement.js';
import { CATEGORIES, categoryOf, type CategoryId } from './categories.js';
import { frenchDate } from './format.js';
import { DEFAULT_INSURER, type InsurerIdentity } from './insurer.js';
import { memberReasons } from './member-reasons.js';
import { linePaymentOf, paymentBeforeLedger, type LinePayment, type LinePaymentFacts, type PaidTo } from './payment.js';

/**
 * The data of a member statement ("historique des remboursements", seed 001): for one family and a
 * period of care dates, each act with its care date, beneficiary, act, the RO amount, the AMC amount
 * and the rest to pay; totals; and the same sums per care category for the chart. Pure: built from
 * the settlements (latest version of each line; a line whose latest version is an annulation is
 * gone) and the beneficiaries (names). With the payment facts of its lines (options.payments), each
 * line also says who was paid, by which run and on which date, and what is still waiting and why,
 * in member words; the totals then split the mutuelle's part into paid and waiting.
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
> &
  // who the settlement pays (absent from lines indexed before they were kept)
  Partial<Pick<Settlement, 'payee' | 'psId' | 'tp'>>;

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
  /**
   * why the AMC paid less than asked, or why the line is in review or rejected, in the MEMBER's
   * words (member-reasons.ts): the engine's reason, written for operators, is never kept here
   */
  memberReasons: string[];
  /** who was paid, when, and what waits (null: the payment facts were not given) */
  payment: LinePayment | null;
  /** the line was decided again after a change of the membership: "régularisation suite à résiliation du 30/04/2025" */
  regularisation: string | null;
}

export interface CategoryTotal extends Amounts {
  category: CategoryId;
  label: string;
  lines: number;
}

export interface StatementData {
  insurer: InsurerIdentity;
  /** the statement's issue date (YYYY-MM-DD), data, not a clock read */
  issuedOn: string | null;
  adherentId: string;
  holder: string;
  from: string;
  to: string;
  lines: StatementLine[];
  totals: Amounts;
  /** the mutuelle's part actually paid, and waiting (blocked, held, returned, next run); null: payment facts not given */
  settled: { paid: string; waiting: string } | null;
  byCategory: CategoryTotal[];
}

export interface StatementOptions {
  insurer?: InsurerIdentity;
  issuedOn?: string;
  /** the payment facts of the statement's lines (PaymentsStore.paymentFactsOf); absent: not shown */
  payments?: ReadonlyMap<string, LinePaymentFacts>;
  /** psId → the professional's name (the account holder of the professionals' reference): shown beside the PS id */
  professionalNames?: Readonly<Record<string, string>>;
}

// exact: integer cents, decimal.js for anything that is not a two-decimal amount (src/model/cents.ts)
const sum = (values: readonly string[]) => sumMoneyText(values);
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
  options: StatementOptions = {},
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
      memberReasons: memberReasons(s.reason, s.status),
      payment: named(paymentOfLine(s, options.payments), options.professionalNames ?? {}),
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
  const settled = options.payments === undefined ? null : {
    paid: sum(lines.flatMap((l) => l.payment?.paid.map((p) => p.amount) ?? [])),
    waiting: sum(lines.flatMap((l) => l.payment?.waiting.map((w) => w.amount) ?? [])),
  };
  return {
    insurer: options.insurer ?? DEFAULT_INSURER, issuedOn: options.issuedOn ?? null,
    adherentId: request.adherentId, holder, from: request.from, to: request.to, lines, totals: totalsOf(lines), settled, byCategory,
  };
}

function named(payment: LinePayment | null, names: Readonly<Record<string, string>>): LinePayment | null {
  if (payment === null) return null;
  const named = (t: PaidTo): boolean => t.kind === 'professional' && Object.hasOwn(names, t.psId);
  // most payments are the member's: the line's own objects kept (linePaymentOf made them for this statement)
  if (!payment.paid.some((p) => named(p.to)) && !payment.waiting.some((w) => named(w.to))) return payment;
  const to = (t: PaidTo): PaidTo => (t.kind === 'professional' && Object.hasOwn(names, t.psId) ? { ...t, name: names[t.psId]! } : t);
  return { paid: payment.paid.map((p) => ({ ...p, to: to(p.to) })), waiting: payment.waiting.map((w) => ({ ...w, to: to(w.to) })) };
}

function paymentOfLine(s: StatementSettlement, payments: ReadonlyMap<string, LinePaymentFacts> | undefined): LinePayment | null {
  if (payments === undefined) return null;
  const facts = payments.get(s.lineKey);
  const before = { status: s.status, amcAmount: s.amcAmount, adherentId: s.adherentId, ...(s.payee ? { payee: s.payee } : {}), ...(s.psId ? { psId: s.psId } : {}), ...(s.tp ? { tp: s.tp } : {}) };
  return facts === undefined ? paymentBeforeLedger(before) : linePaymentOf(facts, before);
}

/**
 * Event types of the membership feed (MEMBERSHIP_EVENT_TYPES, the type a re-liquidation's cause
 * carries) in the member's words — a Record over the feed's types, so a type added to the feed
 * without its words does not compile. A cause that is not a membership event (a grid correction)
 * or a type spelt with dashes is looked up too; a type not known is printed as it is (dashes and
 * underscores as spaces) rather than hidden.
 */
const MEMBERSHIP_EVENT_WORDS: Readonly<Record<MembershipEventType, string>> = {
  family_created: 'adhésion', beneficiary_added: 'ajout d’un bénéficiaire', beneficiary_removed: 'radiation d’un bénéficiaire',
  affiliation_start: 'adhésion', affiliation_end: 'résiliation', suspension_start: 'suspension', suspension_lifted: 'levée de suspension',
  contract_change: 'changement de garantie', bank_account_change: 'changement de coordonnées bancaires',
  proof_studies: 'justificatif de scolarité', proof_disability: 'justificatif d’invalidité',
};
const EVENT_WORDS: Readonly<Record<string, string>> = { ...MEMBERSHIP_EVENT_WORDS, resiliation: 'résiliation', grid_correction: 'correction de garantie' };

/** "régularisation suite à résiliation du 30/04/2025" */
export function regularisationText(cause: ReliquidationCause): string {
  const type = cause.type.replaceAll('-', '_');
  const words = Object.hasOwn(EVENT_WORDS, type) ? EVENT_WORDS[type]! : cause.type.replaceAll(/[-_]/g, ' ');
  return `régularisation suite à ${words} du ${frenchDate(cause.effectiveDate)}`;
}

/** Largest expense of the categories, the chart's full scale (0 when there is nothing). */
export function chartScale(categories: readonly CategoryTotal[]): Decimal {
  return categories.reduce((m, c) => Decimal.max(m, c.expense), ZERO);
}
