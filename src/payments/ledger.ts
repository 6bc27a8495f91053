import type { ReconOutcome } from '../model/reconciliation.js';
import type { Settlement } from '../model/settlement.js';
import { isTiersPayantLine } from '../model/tp-claim.js';
import type { LineLedger, PaymentsLedger, SettlementFacts, TpFacts } from './types.js';

/**
 * Folding the two inputs of the payment stage into the ledger: settlements (what each line is
 * worth, latest version) and reconciliation outcomes (whether a TP line may be paid to its
 * professional, and what the operator already paid). No money moves here; `runPayments` does that.
 */

export type PaymentEvent = { kind: 'settlement'; settlement: Settlement } | { kind: 'reconciliation'; outcome: ReconOutcome };

export function initialLedger(): PaymentsLedger {
  return { lines: {}, operatorPaid: {}, due: {}, debts: {}, runs: {}, held: {}, approvals: {} };
}

const EMPTY_LINE: LineLedger = { settlement: null, tp: null, paid: {} };

function factsOf(s: Settlement): SettlementFacts {
  return { version: s.version, status: s.status, annulled: s.operation === 'A', tiersPayant: isTiersPayantLine(s), adherentId: s.adherentId, amcAmount: s.amcAmount, careDate: s.careDate };
}

interface Draft {
  lines: Record<string, LineLedger>;
  operatorPaid: Record<string, PaymentsLedger['operatorPaid'][string]>;
  due: Record<string, true>;
}

/**
 * What a fold changed, each key with its value before the fold (undefined: absent), for a caller
 * that folds a slice in place and writes only the keys changed (payments-store.ts: a consumed
 * batch of 16 384 events, where copying the slice's maps and diffing them whole was most of the
 * batch's own CPU; bench/README.md, "Session 13 — payments").
 */
export interface FoldChanges {
  lines: Map<string, LineLedger | undefined>;
  operatorPaid: Map<string, PaymentsLedger['operatorPaid'][string] | undefined>;
  /** the due marks set (a fold never removes one) */
  due: Set<string>;
}

export const noFoldChanges = (): FoldChanges => ({ lines: new Map(), operatorPaid: new Map(), due: new Set() });

/** The draft's writes, each key's value before its first change recorded in `changes` (null: not recorded). */
class Fold {
  constructor(
    readonly d: Draft,
    private readonly changes: FoldChanges | null,
  ) {}

  setLine(lineKey: string, line: LineLedger): void {
    const c = this.changes;
    if (c !== null && !c.lines.has(lineKey)) c.lines.set(lineKey, Object.hasOwn(this.d.lines, lineKey) ? this.d.lines[lineKey] : undefined);
    this.d.lines[lineKey] = line;
  }

  markDue(lineKey: string): void {
    this.d.due[lineKey] = true;
    this.changes?.due.add(lineKey);
  }

  private before(claimId: string): void {
    const c = this.changes;
    if (c !== null && !c.operatorPaid.has(claimId)) c.operatorPaid.set(claimId, Object.hasOwn(this.d.operatorPaid, claimId) ? this.d.operatorPaid[claimId] : undefined);
  }

  setOperatorPaid(claimId: string, p: PaymentsLedger['operatorPaid'][string]): void {
    this.before(claimId);
    this.d.operatorPaid[claimId] = p;
  }

  removeOperatorPaid(claimId: string): void {
    this.before(claimId);
    delete this.d.operatorPaid[claimId];
  }
}

function onSettlement(f: Fold, s: Settlement): void {
  const prev = f.d.lines[s.lineKey] ?? EMPTY_LINE;
  if (prev.settlement && prev.settlement.version >= s.version) return; // replay or older version
  f.setLine(s.lineKey, { ...prev, settlement: factsOf(s) });
  f.markDue(s.lineKey);
}

const DECIDES_LINE = new Set(['matched', 'indu', 'held', 'exception']);

function onOutcome(f: Fold, o: ReconOutcome): void {
  if (o.lineKey === null || o.version === null) return; // a claim without a line moves no money
  const lineKey = o.lineKey;
  if (o.tpClaimId !== null && o.kind !== 'held' && o.kind !== 'exception') attributeOperatorPayment(f, o, lineKey);
  if (!DECIDES_LINE.has(o.kind)) return;
  const prev = f.d.lines[lineKey] ?? EMPTY_LINE;
  if (prev.tp && prev.tp.version > o.version) return;
  const pays = o.kind === 'matched' || o.kind === 'indu';
  const tp: TpFacts = { version: o.version, kind: o.kind, payee: pays ? o.payee : null, owed: pays ? (o.owed ?? '0.00') : '0.00' };
  f.setLine(lineKey, { ...prev, tp });
  f.markDue(lineKey);
}

/**
 * What the operator paid for a claim counts as paid on the line the claim was last matched to; when
 * the claim moves to another line (the RO re-issued it), the money moves with it. An annulation
 * leaves it on the annulled line, where it becomes a recovery.
 */
function attributeOperatorPayment(f: Fold, o: ReconOutcome, lineKey: string): void {
  const claimId = o.tpClaimId!;
  const prev = f.d.operatorPaid[claimId];
  if (o.kind === 'annulation-indu') {
    if (!prev && o.claimPaidOn !== null && o.payee !== null) f.setOperatorPaid(claimId, { payee: o.payee, amount: o.amount, lineKey });
    f.markDue(lineKey);
    return;
  }
  if (prev) f.markDue(prev.lineKey);
  if (o.claimPaidOn !== null && o.payee !== null && o.claimed !== null) f.setOperatorPaid(claimId, { payee: o.payee, amount: o.claimed, lineKey });
  else f.removeOperatorPaid(claimId);
  f.markDue(lineKey);
}

/**
 * Applies events in order and returns a new ledger (the given one is not changed). The maps are
 * copied once per call, so a consumer should hand over a batch of messages, not one at a time.
 */
export function applyPaymentEvents(ledger: PaymentsLedger, events: Iterable<PaymentEvent>): PaymentsLedger {
  const d: Draft = { lines: { ...ledger.lines }, operatorPaid: { ...ledger.operatorPaid }, due: { ...ledger.due } };
  foldInto(new Fold(d, null), events);
  return { ...ledger, lines: d.lines, operatorPaid: d.operatorPaid, due: d.due };
}

/**
 * `applyPaymentEvents` IN PLACE: `ledger`'s lines, operator payments and due marks are changed (a
 * slice its caller owns and throws away), and `changes` says which keys, with their values before.
 * The same facts as `applyPaymentEvents` gives, without copying the maps.
 */
export function foldPaymentEvents(ledger: PaymentsLedger, events: Iterable<PaymentEvent>, changes: FoldChanges): void {
  foldInto(new Fold(ledger, changes), events);
}

function foldInto(f: Fold, events: Iterable<PaymentEvent>): void {
  for (const e of events) {
    if (e.kind === 'settlement') onSettlement(f, e.settlement);
    else onOutcome(f, e.outcome);
  }
}
