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

function onSettlement(d: Draft, s: Settlement): void {
  const prev = d.lines[s.lineKey] ?? EMPTY_LINE;
  if (prev.settlement && prev.settlement.version >= s.version) return; // replay or older version
  d.lines[s.lineKey] = { ...prev, settlement: factsOf(s) };
  d.due[s.lineKey] = true;
}

const DECIDES_LINE = new Set(['matched', 'indu', 'held', 'exception']);

function onOutcome(d: Draft, o: ReconOutcome): void {
  if (o.lineKey === null || o.version === null) return; // a claim without a line moves no money
  const lineKey = o.lineKey;
  if (o.tpClaimId !== null && o.kind !== 'held' && o.kind !== 'exception') attributeOperatorPayment(d, o, lineKey);
  if (!DECIDES_LINE.has(o.kind)) return;
  const prev = d.lines[lineKey] ?? EMPTY_LINE;
  if (prev.tp && prev.tp.version > o.version) return;
  const pays = o.kind === 'matched' || o.kind === 'indu';
  const tp: TpFacts = { version: o.version, kind: o.kind, payee: pays ? o.payee : null, owed: pays ? (o.owed ?? '0.00') : '0.00' };
  d.lines[lineKey] = { ...prev, tp };
  d.due[lineKey] = true;
}

/**
 * What the operator paid for a claim counts as paid on the line the claim was last matched to; when
 * the claim moves to another line (the RO re-issued it), the money moves with it. An annulation
 * leaves it on the annulled line, where it becomes a recovery.
 */
function attributeOperatorPayment(d: Draft, o: ReconOutcome, lineKey: string): void {
  const claimId = o.tpClaimId!;
  const prev = d.operatorPaid[claimId];
  if (o.kind === 'annulation-indu') {
    if (!prev && o.claimPaidOn !== null && o.payee !== null) d.operatorPaid[claimId] = { payee: o.payee, amount: o.amount, lineKey };
    d.due[lineKey] = true;
    return;
  }
  if (prev) d.due[prev.lineKey] = true;
  if (o.claimPaidOn !== null && o.payee !== null && o.claimed !== null) d.operatorPaid[claimId] = { payee: o.payee, amount: o.claimed, lineKey };
  else delete d.operatorPaid[claimId];
  d.due[lineKey] = true;
}

/**
 * Applies events in order and returns a new ledger (the given one is not changed). The maps are
 * copied once per call, so a consumer should hand over a batch of messages, not one at a time.
 */
export function applyPaymentEvents(ledger: PaymentsLedger, events: Iterable<PaymentEvent>): PaymentsLedger {
  const d: Draft = { lines: { ...ledger.lines }, operatorPaid: { ...ledger.operatorPaid }, due: { ...ledger.due } };
  for (const e of events) {
    if (e.kind === 'settlement') onSettlement(d, e.settlement);
    else onOutcome(d, e.outcome);
  }
  return { ...ledger, lines: d.lines, operatorPaid: d.operatorPaid, due: d.due };
}
