import type { Money } from '../model/money.js';
import type { ReconOutcome } from '../model/reconciliation.js';
import type { Settlement } from '../model/settlement.js';
import type { TpClaim } from '../model/tp-claim.js';

/**
 * The reconciliation decider's data: events in, outcomes out, state as plain JSON (it is persisted
 * on a changelog and read back on restart, like the engine's counters). Time is data: every event
 * carries its instant, and a `tick` moves the clock to raise the exceptions whose delay ran out.
 */

export interface ReconConfig {
  /** days a line flagged tiers payant (tp 15/25) waits for its claim before it becomes an exception */
  holdDays: number;
  /** days a claim waits for the NOEMIE line that confirms it before it becomes an exception */
  claimDays: number;
  /** |claimed − entitlement| ≤ tolerance counts as equal (Money, default "0.00": to the cent) */
  tolerance: Money;
}

export const DEFAULT_RECON_CONFIG: ReconConfig = { holdDays: 30, claimDays: 30, tolerance: '0.00' };

/**
 * What the decider reads of a settlement: a settlement is one, and so is what `slimSettlement`
 * keeps of it (the reconcile service's consumer keeps no more of each settlement of a batch).
 */
export type ReconSettlement = Pick<
  Settlement,
  'lineKey' | 'beneficiary' | 'adherentId' | 'careDate' | 'actCode' | 'status' | 'amcAmount' | 'payee' | 'version' | 'operation' | 'tp' | 'psId' | 'invoiceNo'
>;

export type ReconEvent =
  | { kind: 'settlement'; settlement: ReconSettlement; at: string }
  | { kind: 'claim'; claim: TpClaim; at: string }
  | { kind: 'tick'; now: string };

/** What reconciliation needs to match and compare a line, taken from its settlement. */
export interface Identity {
  nir: string;
  rang: number;
  careDate: string;
  /** executing professional; null when the settlement did not name one (such a TP line can never match) */
  psId: string | null;
  actCode: string;
}

/**
 * - `member`: not a tiers-payant line (tp 00/05): kept only to answer a later annulation;
 * - `held`: TP line, no claim yet; `linked`: TP line matched to a claim (outcome matched or indu);
 * - `review`: TP line whose settlement awaits a person: not matched until a new version settles it;
 * - `annulled`: the RO annulled the line (operation A).
 */
export type LineStatus = 'member' | 'held' | 'linked' | 'review' | 'annulled';

export interface LineEntry {
  lineKey: string;
  version: number;
  status: LineStatus;
  /** destinataire du règlement of the current version (15/25: tiers payant on the AMC part) */
  tp: string | null;
  identity: Identity;
  invoiceNo: string | null;
  adherentId: string | null;
  /** AMC amount of the current version (the entitlement) */
  amcAmount: Money;
  /** `member` lines: what was settled for payment to the family (AMC amount when status paid, else 0) */
  settled: Money;
  /** linked: the claim, and what the professional is owed for the line */
  claimId: string | null;
  owed: Money | null;
  /** held: when the wait started, when it ends, and whether the exception was raised already */
  heldSince: string | null;
  deadline: string | null;
  exceptionRaised: boolean;
  /** times this version was held (a second time after its claim was corrected away): part of the outcome ids */
  holds?: number;
}

export interface ClaimEntry {
  claim: TpClaim;
  /** 1 for the first content received under this id, +1 for each different resend */
  revision: number;
  receivedAt: string;
  /** the line that confirms it, null while pending */
  lineKey: string | null;
  deadline: string | null;
  exceptionRaised: boolean;
  /** waits of this revision for a line (a second one after its line changed): part of the outcome ids */
  waits?: number;
  /**
   * The annulled line against which what the operator paid was claimed back (an `annulation-indu`
   * naming this claim was emitted): set once, so neither a resend of the claim nor its release
   * recovers the same payment twice.
   */
  recoveredOn?: string;
}

/**
 * State for one partition key (the consumer keeps one per beneficiary NIR-rang, see `reconKeyOf`)
 * or for everything at once: the rules do not depend on how it is split, only the cost of an update does.
 */
export interface ReconState {
  lines: Readonly<Record<string, LineEntry>>;
  claims: Readonly<Record<string, ClaimEntry>>;
  /** outcomes emitted so far (a count only: outcome ids do not depend on it, see outcomeIdOf) */
  seq: number;
}

export interface ReconDecision {
  outcomes: ReconOutcome[];
  state: ReconState;
}
