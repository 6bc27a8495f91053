import { Decimal } from 'decimal.js';
import type { Settlement } from '../model/settlement.js';
import { isTiersPayantLine } from '../model/tp-claim.js';
import { centsOf } from '../model/cents.js';
import { bestClaimFor, sameCareEvent } from './match.js';
import { annulationIndu, decidePair, putClaim, putLine, recoverOperatorPayment, type Draft } from './outcome.js';
import { placeLine, releaseClaim } from './pairing.js';
import type { Identity, LineEntry, ReconSettlement } from './types.js';

/**
 * A settlement (a version of one NOEMIE line) reaches reconciliation. Versions only move forward:
 * the same version twice, or an older one, changes nothing (replays are free).
 */

const isTiersPayant = isTiersPayantLine;

/**
 * The fields of a settlement the decider reads (ReconSettlement), in an object of their own: the
 * rest — parts with their formulas, counters, amounts, hash — is ≈ 60 % of a parsed settlement's
 * heap, and a consumed batch holds its values through the handler's awaits (ConsumeOptions.slim).
 * Absent optional fields stay undefined, as in the settlement (the decider reads them with `??`).
 */
export function slimSettlement(s: Settlement): Settlement {
  const slim: ReconSettlement = {
    lineKey: s.lineKey,
    beneficiary: s.beneficiary,
    adherentId: s.adherentId,
    careDate: s.careDate,
    actCode: s.actCode,
    status: s.status,
    amcAmount: s.amcAmount,
    payee: s.payee,
    version: s.version,
    operation: s.operation,
    tp: s.tp,
    psId: s.psId,
    invoiceNo: s.invoiceNo,
  };
  // typed as the topic's message for ConsumeOptions.slim: the service reads it as a ReconSettlement
  return slim as Settlement;
}

/** The identity a settlement gives its line (what matching compares). */
export function identityOf(s: ReconSettlement): Identity {
  return { nir: s.beneficiary.nir, rang: s.beneficiary.rang, careDate: s.careDate, psId: s.psId ?? psOfPayee(s.payee), actCode: s.actCode };
}

function entryOf(s: ReconSettlement, prev: LineEntry | undefined): LineEntry {
  const stillHeld = prev?.status === 'held';
  return {
    lineKey: s.lineKey,
    version: s.version,
    status: 'member',
    tp: s.tp ?? null,
    identity: identityOf(s),
    invoiceNo: s.invoiceNo ?? null,
    adherentId: s.adherentId,
    amcAmount: s.amcAmount,
    settled: s.status === 'paid' ? s.amcAmount : '0.00',
    claimId: null,
    owed: null,
    // a new version of a held line keeps waiting from when the wait started (no reset of the delay)
    heldSince: stillHeld ? prev.heldSince : null,
    deadline: stillHeld ? prev.deadline : null,
    exceptionRaised: stillHeld ? prev.exceptionRaised : false,
  };
}

/** money > 0: in cents when canonical (model/cents.ts), else decimal.js */
function isPositive(money: string): boolean {
  const cents = centsOf(money);
  return cents !== null ? cents > 0 : new Decimal(money).gt(0);
}

function psOfPayee(payee: string): string | null {
  return payee.startsWith('ps:') ? payee.slice(3) : null;
}

export function onSettlement(d: Draft, s: ReconSettlement, at: string): void {
  const prev = Object.hasOwn(d.lines, s.lineKey) ? d.lines[s.lineKey] : undefined;
  if (prev && prev.version >= s.version) return;
  if (s.operation === 'A') return annul(d, prev, s, at);

  const line = entryOf(s, prev);
  if (!isTiersPayant(s) || s.status === 'review') {
    // not (or not yet) a TP line to match: a person decides a review; tp 00/05 pays the member
    putLine(d, { ...line, status: isTiersPayant(s) ? 'review' : 'member', heldSince: null, deadline: null, exceptionRaised: false });
    releaseClaim(d, prev?.claimId ?? null, at);
    return;
  }
  const linked = prev?.claimId ? d.claims[prev.claimId] : undefined;
  if (linked && sameCareEvent(line, linked.claim)) {
    // re-liquidation of a matched line: the same claim is judged against the new entitlement
    putLine(d, decidePair(d, line, linked, at));
    return;
  }
  // a claim the previous version held no longer names this line: it looks elsewhere, then the line does
  putLine(d, { ...line, status: 'held' });
  releaseClaim(d, prev?.claimId ?? null, at);
  const current = d.lines[s.lineKey] ?? line;
  if (current.claimId === null) placeLine(d, current, at);
}

function annul(d: Draft, prev: LineEntry | undefined, s: ReconSettlement, at: string): void {
  const base = prev ?? { ...entryOf(s, undefined), settled: '0.00' };
  if (prev?.status === 'linked' && prev.claimId !== null && prev.identity.psId !== null) {
    const entry = d.claims[prev.claimId];
    const claim = entry?.claim;
    if (entry && claim?.paidOn) {
      annulationIndu(d, prev, s.version, at, `ps:${prev.identity.psId}`, claim.amcAmountClaimed, `paid by the operator ${claim.operator}`);
      putClaim(d, { ...entry, recoveredOn: prev.lineKey });
    } else if (prev.owed !== null && isPositive(prev.owed)) annulationIndu(d, prev, s.version, at, `ps:${prev.identity.psId}`, prev.owed, 'settled for payment');
  } else if (prev?.status === 'member' && prev.adherentId !== null && isPositive(prev.settled)) {
    annulationIndu(d, prev, s.version, at, `member:${prev.adherentId}`, prev.settled, 'settled for payment');
  }
  const annulled: LineEntry = { ...base, version: s.version, status: 'annulled', claimId: null, owed: null, settled: '0.00', heldSince: null, deadline: null, exceptionRaised: false, holds: 0 };
  putLine(d, annulled);
  // the claim may belong to the line the RO re-issues under another number
  releaseClaim(d, prev?.claimId ?? null, at);
  // a claim the operator paid that was still waiting for this line (it came before the line did, or
  // the line was held): the same recovery as for a linked claim, whatever the order of arrival
  const waiting = bestClaimFor(d, annulled, d.config.tolerance);
  if (waiting && waiting.claim.paidOn !== null && waiting.recoveredOn === undefined) recoverOperatorPayment(d, annulled, waiting, at);
}
