import { centsOf, moneyOfCents } from '../model/cents.js';
import { entitledOf } from '../payments/entitlement.js';
import { nextTarget2BusinessDay } from '../payments/target2.js';
import type { Held, LineLedger, LineRun, OperatorPayment } from '../payments/types.js';

/**
 * Who was paid for a statement line, when, and what is still waiting and why — from the payment
 * stage's facts about that line only (src/pipeline/payments-store.ts `paymentFactsOf`), never the
 * ledger. Pure.
 */

// (the payment state's records, defined with the line that holds them since session 21)
export type { LineRun, ReturnedMark } from '../payments/types.js';

/** The last run that looked at the line could not pay it: no account, or one it cannot use. */
export interface LineBlocked {
  runId: string;
  at: string;
  payee: string;
  /** the run's reason (payments/accounts.ts `accountProblem`), for ops: mapped to member words here */
  reason: string;
}

/**
 * The bank returned a transfer that paid the line (camt.054 / pain.002) and no run has paid it
 * again yet (PaymentsStore.paymentFactsOf, from the line's `returned` marks): the statement says
 * "en attente" with the reason's French label.
 */
export interface LineReturned {
  payee: string;
  /** ISO 20022 reason code (AC01, AC04, AC06, MD07…), for ops */
  code: string;
  /** the reason in French (src/payments/bank-returns/reasons.ts), shown to the member */
  label: string;
  /** the reason is about the account: paid again only to another account */
  blocks: boolean;
  endToEndId: string;
  runId: string;
  /** the line's movement in the returned transfer */
  amount: string;
  at: string | null;
}

export interface LinePaymentFacts {
  line: LineLedger | null;
  runs: readonly LineRun[];
  operatorPaid: OperatorPayment[];
  blocked: LineBlocked | null;
  held: Pick<Held, 'payee' | 'runId' | 'ceiling'> | null;
  returned?: LineReturned | null;
}

export type PaidTo = { kind: 'member' } | { kind: 'professional'; psId: string; name?: string };

export interface PaymentMade {
  to: PaidTo;
  amount: string;
  /** the run that paid (null: paid by the tiers-payant operator, or by a run before runs were recorded per line) */
  runId: string | null;
  /** the run's requested execution date (its cut-off day, or the next TARGET2 business day) */
  on: string | null;
  byOperator: boolean;
}

export type WaitingReason = 'no-account' | 'invalid-account' | 'held' | 'returned' | 'next-run' | 'reconciliation';

export interface PaymentWaiting {
  to: PaidTo;
  amount: string;
  reason: WaitingReason;
  /** reason 'returned': the bank's reason in French, and whether the account must change */
  returnReason?: { label: string; blocks: boolean };
}

export interface LinePayment {
  paid: PaymentMade[];
  waiting: PaymentWaiting[];
}

/** Money in cents (src/model/cents.ts): the payment facts hold Money only (schemas, run.ts); exact integers. */
function cents(money: string): number {
  const c = centsOf(money);
  if (c === null) throw new RangeError(`statement: "${money}" is not an amount`);
  return c;
}

const paidTo = (payee: string): PaidTo => (payee.startsWith('ps:') ? { kind: 'professional', psId: payee.slice(3) } : { kind: 'member' });

/** The blocked run's reason, by kind: `no account known` (accountProblem) is the member's missing RIB. */
const blockedKind = (reason: string): WaitingReason => (/no account/i.test(reason) ? 'no-account' : 'invalid-account');

/**
 * What a statement shows of a line's blocked mark: its payee and the kind of its reason, never the
 * run that set it (each run that cannot pay sets it again). The payment state marks a family's
 * statement as changed (src/pipeline/statement-dirty.ts) only when this changes; a hold likewise
 * shows only its payee (`linePaymentOf`).
 */
export const blockedShown = (b: Pick<LineBlocked, 'payee' | 'reason'> | null | undefined): string | null => (b == null ? null : `${b.payee} ${blockedKind(b.reason)}`);

/**
 * What the settlement itself says when the payment stage has not seen the line yet: its AMC amount
 * is waiting for the next run (tiers payant: for the professional's claim).
 */
export function paymentBeforeLedger(s: { status: string; amcAmount: string; adherentId: string | null; payee?: string; psId?: string; tp?: string }): LinePayment {
  if (s.status !== 'paid' || !(cents(s.amcAmount) > 0)) return { paid: [], waiting: [] };
  const tiersPayant = s.tp === '15' || s.tp === '25';
  const to: PaidTo = tiersPayant && s.psId ? { kind: 'professional', psId: s.psId } : { kind: 'member' };
  return { paid: [], waiting: [{ to, amount: s.amcAmount, reason: tiersPayant ? 'reconciliation' : 'next-run' }] };
}

export function linePaymentOf(facts: LinePaymentFacts, settlement: Parameters<typeof paymentBeforeLedger>[0]): LinePayment {
  const line = facts.line;
  if (line === null || line.settlement === null) return paymentBeforeLedger(settlement);
  const paid: PaymentMade[] = [];
  const byRuns = new Map<string, number>();
  for (const run of [...facts.runs].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) {
    for (const m of run.moved) {
      // the bank returned it: the money did not arrive (the ledger took the movement back too)
      if (m.returned !== undefined) continue;
      paid.push({ to: paidTo(m.payee), amount: m.amount, runId: run.runId, on: nextTarget2BusinessDay(run.at.slice(0, 10)), byOperator: false });
      byRuns.set(m.payee, (byRuns.get(m.payee) ?? 0) + cents(m.amount));
    }
  }
  // paid by a run older than the per-line records: the amount is known, the run is not
  for (const [payee, amount] of Object.entries(line.paid)) {
    const rest = cents(amount) - (byRuns.get(payee) ?? 0);
    if (rest !== 0) paid.push({ to: paidTo(payee), amount: moneyOfCents(rest), runId: null, on: null, byOperator: false });
  }
  const byOperator = new Map<string, number>();
  for (const p of facts.operatorPaid) {
    paid.push({ to: paidTo(p.payee), amount: p.amount, runId: null, on: null, byOperator: true });
    byOperator.set(p.payee, (byOperator.get(p.payee) ?? 0) + cents(p.amount));
  }

  const waiting: PaymentWaiting[] = [];
  // `entitledOf`, not `entitlementOf`: at most one payee is entitled, and a map keyed by its name
  // gets a hidden class per payee (bench/README.md, "Session 16 — statements")
  const ent = entitledOf(line);
  if (ent.kind === 'pending') {
    // tiers payant awaiting the professional's claim; a line under review shows its reason instead
    if (line.settlement.tiersPayant && line.settlement.status === 'paid') {
      const owed = cents(line.settlement.amcAmount) - Object.values(line.paid).reduce((s, v) => s + cents(v), 0);
      if (owed > 0) waiting.push({ to: settlement.psId ? { kind: 'professional', psId: settlement.psId } : { kind: 'member' }, amount: moneyOfCents(owed), reason: 'reconciliation' });
    }
    return { paid, waiting };
  }
  const payee = ent.payee;
  if (payee !== null) {
    const owed = cents(ent.amount) - cents(Object.hasOwn(line.paid, payee) ? line.paid[payee]! : '0.00') - (byOperator.get(payee) ?? 0);
    if (owed > 0) {
      const reason: WaitingReason =
        facts.returned?.payee === payee ? 'returned'
          : facts.held?.payee === payee ? 'held'
            : facts.blocked?.payee === payee ? blockedKind(facts.blocked.reason)
              : 'next-run';
      const returned = reason === 'returned' ? { returnReason: { label: facts.returned!.label, blocks: facts.returned!.blocks } } : {};
      waiting.push({ to: paidTo(payee), amount: moneyOfCents(owed), reason, ...returned });
    }
  }
  // tiers payant held or in exception at reconciliation: the professional is owed nothing yet
  if (line.settlement.tiersPayant && payee === null && !line.settlement.annulled && line.settlement.status === 'paid' && cents(line.settlement.amcAmount) > 0) {
    waiting.push({ to: settlement.psId ? { kind: 'professional', psId: settlement.psId } : { kind: 'member' }, amount: line.settlement.amcAmount, reason: 'reconciliation' });
  }
  return { paid, waiting };
}

/** The member's words for why money is waiting (never the run's texts). */
export function waitingText(w: PaymentWaiting): string {
  const professional = w.to.kind === 'professional';
  switch (w.reason) {
    case 'no-account':
      return professional ? 'coordonnées bancaires du professionnel de santé manquantes' : 'nous n’avons pas vos coordonnées bancaires, merci de nous transmettre votre RIB';
    case 'invalid-account':
      return professional ? 'coordonnées bancaires du professionnel de santé inutilisables' : 'vos coordonnées bancaires ne permettent pas le virement, merci de nous transmettre un nouveau RIB';
    case 'held':
      return 'paiement retenu pour contrôle par nos services';
    case 'returned': {
      const why = w.returnReason === undefined ? '' : ` (${w.returnReason.label})`;
      // a reason about the account is paid again only to another account; otherwise the next run pays it
      const next = w.returnReason?.blocks === false ? ' : sera versé lors du prochain virement' : professional ? '' : ', merci de nous transmettre vos nouvelles coordonnées bancaires';
      return professional ? `virement au professionnel de santé retourné par sa banque${why}${next}` : `virement retourné par votre banque${why}${next}`;
    }
    case 'reconciliation':
      return professional ? 'réglé à réception de sa facture' : 'versé au professionnel de santé à réception de sa facture (tiers payant)';
    case 'next-run':
      return 'sera versé lors du prochain virement';
  }
}
