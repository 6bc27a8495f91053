import type { Money } from '../model/money.js';
import type { PayeeAccount, PaymentOrder } from '../model/payment.js';
import type { ReconKind } from '../model/reconciliation.js';
import type { PaymentLimits } from './controls.js';

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
  /** the line's care date (absent in ledgers kept before it was): the transfer's remittance text names the care period */
  careDate?: string;
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
  /** how many of the transfers paying this line the bank returned (returns.ts); absent = none */
  returns?: number;
  /**
   * EndToEndId → the bank's return of a transfer that paid this line, while it is not paid again:
   * set by `applyReturn`, removed by the run that moves the line for that payee again (or finds
   * nothing left to move). The statement says "en attente" with the reason; the report lists the
   * re-payment. Absent = none.
   */
  returned?: Readonly<Record<string, LineReturn>>;
  /**
   * What each run moved for the line, per payee, in runId order (member statements say who was paid
   * and when). Since session 21 inside the line's own value (`payments.line`), written by the run
   * that changes `paid`; a line written before keeps its list in `payments.line-runs/<lineKey>`
   * until a run moves it again (src/pipeline/README.md, "Payment state"). Absent = none here.
   */
  runs?: readonly LineRun[];
}

/** What one payment run moved for one line, per payee (signed: a recovery is negative). */
export interface LineRun {
  runId: string;
  /** the run's cut-off instant */
  at: string;
  moved: { payee: string; amount: string; returned?: ReturnedMark }[];
}

/** The bank returned the transfer that made this movement: it is not counted as paid. */
export interface ReturnedMark {
  endToEndId: string;
  code: string;
  label: string;
}

/** One returned transfer, as it concerns one line (and, in `returnsToReport`, a whole transfer). */
export interface LineReturn {
  payee: string;
  /** the returned order's paymentId and run */
  paymentId: string;
  runId: string;
  /** the line's movement in the returned order (in `returnsToReport`: the transfer's amount) */
  amount: Money;
  code: string;
  label: string;
  blocks: boolean;
  /** the bank file and record that returned it, and when it was applied */
  file: string;
  record: number;
  at: string | null;
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
  /** payee → its order the last run held for approval (removed when the payee is paid) */
  held: Readonly<Record<string, Held>>;
  /** payee → the approval of one held order (consumed by the run that pays it) */
  approvals: Readonly<Record<string, Approval>>;
  /**
   * payee → the bank's last return of a transfer to it (returns.ts): while the payee's account is
   * the one that was returned, no transfer is sent to it. Absent in ledgers older than bank returns.
   */
  returnBlocks?: Readonly<Record<string, ReturnBlock>>;
  /**
   * EndToEndId → a bank return applied since the last run (returns.ts): the next run's report lists
   * it, and that run clears the set. Absent in ledgers older than the report's returned section.
   */
  returnsToReport?: Readonly<Record<string, LineReturn>>;
}

/** A payee blocked by a bank return until its account changes (src/payments/returns.ts). */
export interface ReturnBlock {
  /** SHA-256 of the returned IBAN (electronic format): compared, never shown */
  ibanHash: string;
  /** the returned IBAN masked (FR76…0189), for the report */
  ibanMasked: string;
  code: string;
  label: string;
  endToEndId: string;
  paymentId: string;
  /** the bank file and record that returned it */
  file: string;
  record: number;
}

/** Why an order was held: its amount is not usable money, or above the per-order / per-run ceiling. */
export type HoldCeiling = 'amount' | 'order' | 'run';

/** An order the payment controls held (src/payments/controls.ts): not transferred, its lines stay due. */
export interface Held {
  paymentId: string;
  runId: string;
  payee: string;
  amount: Money;
  /** the EndToEndId the order would have had: an approval is for this order exactly */
  endToEndId: string;
  lineKeys: string[];
  ceiling: HoldCeiling;
  /** the ceiling's value (null for an unusable amount) */
  limit: Money | null;
  reason: string;
}

/** A person's approval of one held order: that payee, that amount, those lines (its EndToEndId). */
export interface Approval {
  payee: string;
  /** the held order approved: `<runId>:<payee>` of the run that held it */
  paymentId: string;
  endToEndId: string;
  amount: Money;
  by: string;
  at: string;
}

/** Where payees are paid: the adhérent's IBAN for the whole family, a professional's own account. */
export interface AccountBook {
  members: Readonly<Record<string, PayeeAccount>>;
  /**
   * The family's account looked up in the membership store, as of the run's date (a RIB change
   * applies to payments made from its effective date); when set, it answers for members instead
   * of `members`. Undefined for an adhérent the store has no account for: the payment is blocked.
   */
  memberAccount?: (adherentId: string) => PayeeAccount | undefined;
  professionals: Readonly<Record<string, PayeeAccount>>;
}

export interface RunInput {
  runId: string;
  /** the run's cut-off instant (data, not a clock read) */
  at: string;
  accounts: AccountBook;
  /** payment controls; default DEFAULT_LIMITS (src/payments/controls.ts) */
  limits?: PaymentLimits;
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
  /** orders above a ceiling, or with an unusable amount: not paid, lines still due, awaiting approval */
  held: Held[];
  ledger: PaymentsLedger;
  /** true when this runId had already run: nothing was done */
  alreadyRun: boolean;
}
