import type { Money } from '../model/money.js';
import type { PayeeAccount, PaymentOrder } from '../model/payment.js';
import type { ReconKind } from '../model/reconciliation.js';

/**
 * The payment ledger: plain JSON, persisted between runs. It remembers, per line, the latest facts
 * (settlement version, reconciliation outcome) and what each payee has been paid for it; per payee,
 * the debt carried; per run, that it happened. A run pays `entitled − already paid` for each line
 * that changed, so replaying the same inputs or re-running pays nothing twice.
 */

export interface SettlementFacts {
  version: number;
  status: 'paid' | 'zero' | 'rejected' | 'review';
  annulled: boolean;
  tiersPayant: boolean;
  adherentId: string | null;
  amcAmount: Money;
}

/** Latest reconciliation outcome naming the line (TP lines): whom it lets us pay, at which version. */
export interface TpFacts {
  version: number;
  kind: ReconKind;
  /** matched / indu: `ps:<id>` and what it is owed; held / exception: null and "0.00" */
  payee: string | null;
  owed: Money;
}

/** A claim the TP operator already paid (`paid_on`): money out, attributed to the line it was last matched to. */
export interface OperatorPayment {
  payee: string;
  amount: Money;
  lineKey: string;
}

export interface LineLedger {
  settlement: SettlementFacts | null;
  tp: TpFacts | null;
  /** net amount our runs moved to each payee for this line (payments − recoveries) */
  paid: Readonly<Record<string, Money>>;
}

export interface PaymentsLedger {
  lines: Readonly<Record<string, LineLedger>>;
  /** claimId → what the operator paid, outside our runs */
  operatorPaid: Readonly<Record<string, OperatorPayment>>;
  /** lineKeys whose facts changed since they were last settled (or that could not be settled yet) */
  due: Readonly<Record<string, true>>;
  /** payee → what it owes us after its last recovery (never sent as a transfer) */
  debts: Readonly<Record<string, Money>>;
  /** runId → when it ran and how many orders it made */
  runs: Readonly<Record<string, { at: string; orders: number }>>;
}

/** Where payees are paid: the adhérent's IBAN for the whole family, a professional's own account. */
export interface AccountBook {
  members: Readonly<Record<string, PayeeAccount>>;
  professionals: Readonly<Record<string, PayeeAccount>>;
}

export interface RunInput {
  runId: string;
  /** the run's cut-off instant (data, not a clock read) */
  at: string;
  accounts: AccountBook;
}

/** A payee the run could not pay (no account, invalid IBAN): its lines stay due for the next run. */
export interface Blocked {
  payee: string;
  lineKeys: string[];
  amount: Money;
  reason: string;
}

/** A line that changed but cannot be settled yet (under review, awaiting reconciliation of its version). */
export interface Pending {
  lineKey: string;
  reason: string;
}

export interface RunResult {
  orders: PaymentOrder[];
  blocked: Blocked[];
  pending: Pending[];
  ledger: PaymentsLedger;
  /** true when this runId had already run: nothing was done */
  alreadyRun: boolean;
}
