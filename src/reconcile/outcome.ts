import { Decimal } from 'decimal.js';
import { formatMoney } from '../model/money.js';
import type { ReconKind, ReconOutcome } from '../model/reconciliation.js';
import { centsOf, formatCents } from '../model/cents.js';
import { copyDict } from './dict.js';
import { withinTolerance } from './match.js';
import { dayOf, plusDays } from './time.js';
import type { ClaimEntry, LineEntry, ReconConfig, ReconState } from './types.js';

/**
 * A decision in progress: copies of the two maps (entries are replaced, never changed in place, so
 * the state given to `decide` stays intact) and the outcomes emitted so far.
 */
export interface Draft {
  lines: Record<string, LineEntry>;
  claims: Record<string, ClaimEntry>;
  seq: number;
  outcomes: ReconOutcome[];
  config: ReconConfig;
  /** false while nothing was written: `decide` then hands back the state it was given */
  changed: boolean;
}

export function draftOf(state: ReconState, config: ReconConfig): Draft {
  return { lines: copyDict(state.lines), claims: copyDict(state.claims), seq: state.seq, outcomes: [], config, changed: false };
}

type OutcomeFields = Omit<ReconOutcome, 'outcomeId' | 'kind' | 'at' | 'entitled' | 'claimed' | 'owed' | 'claimPaidOn'> &
  Partial<Pick<ReconOutcome, 'entitled' | 'claimed' | 'owed' | 'claimPaidOn'>>;

export function putLine(d: Draft, line: LineEntry): void {
  d.lines[line.lineKey] = line;
  d.changed = true;
}

export function putClaim(d: Draft, entry: ClaimEntry): void {
  d.claims[entry.claim.tpClaimId] = entry;
  d.changed = true;
}

/**
 * The id says what the decision is about, so the same decision always has the same id, however
 * many other events the person's state saw before it (a batch redelivered after a crash may be
 * decided after the other topic's events this time): `kind|lineKey@version|claimId#revision`, plus
 * `|n` for the n-th (n ≥ 2) wait of that line version or claim revision — a version can be held
 * again after its claim was corrected away, a claim can wait again after its line changed.
 */
export function outcomeIdOf(kind: ReconKind, lineKey: string | null, version: number | null, claimRef: string, episode = 1): string {
  return `${kind}|${lineKey ?? '-'}@${version ?? '-'}|${claimRef}${episode > 1 ? `|${episode}` : ''}`;
}

/**
 * Built field by field in the topic's order (outcomeId, kind, at, entitled, claimed, owed,
 * claimPaidOn, then the rest): the bytes a spread `{ outcomeId, kind, at, entitled: null, …, ...fields }`
 * gave, without the intermediate objects (an outcome per TP line and claim).
 */
export function emit(d: Draft, kind: ReconKind, at: string, fields: OutcomeFields, episode = 1): void {
  d.seq += 1;
  const claimRef = fields.tpClaimId === null ? '-' : `${fields.tpClaimId}#${d.claims[fields.tpClaimId]?.revision ?? 0}`;
  d.outcomes.push({
    outcomeId: outcomeIdOf(kind, fields.lineKey, fields.version, claimRef, episode),
    kind,
    at,
    entitled: fields.entitled ?? null,
    claimed: fields.claimed ?? null,
    owed: fields.owed ?? null,
    claimPaidOn: fields.claimPaidOn ?? null,
    beneficiary: fields.beneficiary,
    lineKey: fields.lineKey,
    version: fields.version,
    tpClaimId: fields.tpClaimId,
    psId: fields.psId,
    payee: fields.payee,
    amount: fields.amount,
    reason: fields.reason,
  });
}

const person = (line: LineEntry) => ({ nir: line.identity.nir, rang: line.identity.rang });
const psPayee = (psId: string) => `ps:${psId}`;

/**
 * What a pair's amounts mean: the claim is in excess (above the entitlement and not equal within
 * the tolerance), what the professional is owed (the entitlement when in excess, else the amount
 * claimed) and the excess. In integer cents when both amounts are canonical (model/cents.ts), else decimal.js.
 */
function pairAmounts(entitledText: string, claimedText: string, equal: boolean): { excess: boolean; owed: string; diff: string } {
  const e = centsOf(entitledText);
  const c = centsOf(claimedText);
  if (e !== null && c !== null) {
    const excess = !equal && c > e;
    return { excess, owed: excess ? entitledText : claimedText, diff: excess ? formatCents(c - e) : '' };
  }
  const entitled = new Decimal(entitledText);
  const claimed = new Decimal(claimedText);
  const excess = !equal && claimed.gt(entitled);
  return { excess, owed: formatMoney(excess ? entitled : claimed), diff: excess ? formatMoney(claimed.minus(entitled)) : '' };
}

/**
 * Decides a line + claim pair: equal within the tolerance → matched (owed: the amount claimed);
 * claimed above → indu for the excess (owed: the entitlement); claimed below → matched for what
 * was claimed (the professional asked for less; the member was never to be paid for a TP line).
 * Returns the line, linked.
 */
export function decidePair(d: Draft, line: LineEntry, entry: ClaimEntry, at: string): LineEntry {
  const c = entry.claim;
  const equal = withinTolerance(line.amcAmount, c.amcAmountClaimed, d.config.tolerance);
  const { excess, owed, diff } = pairAmounts(line.amcAmount, c.amcAmountClaimed, equal);
  const who = `professional ${c.psId}`;
  const paid = c.paidOn === null ? '' : ` The operator ${c.operator} paid ${c.amcAmountClaimed} on ${c.paidOn}.`;
  const ref = `claim ${c.tpClaimId} (operator ${c.operator}) and NOEMIE line ${line.lineKey} v${line.version}`;
  const beneficiary = person(line);
  const payee = psPayee(c.psId);
  if (excess) {
    const tail = c.paidOn === null ? ` Only ${owed} will be paid to the ${who}.` : ` ${diff} to recover from the ${who}.`;
    emit(d, 'indu', at, {
      beneficiary, lineKey: line.lineKey, version: line.version, tpClaimId: c.tpClaimId, psId: c.psId, payee, entitled: line.amcAmount, claimed: c.amcAmountClaimed, owed, claimPaidOn: c.paidOn,
      amount: diff, reason: `${ref}: ${c.amcAmountClaimed} claimed for an entitlement of ${line.amcAmount}, ${diff} indu against the ${who}.${paid}${tail}`,
    });
  } else {
    const how = equal
      ? `${c.amcAmountClaimed} claimed, entitlement ${line.amcAmount}`
      : `${c.amcAmountClaimed} claimed, less than the entitlement ${line.amcAmount}: the ${who} is owed what it claimed`;
    const pay = c.paidOn === null ? ` Pay ${owed} to the ${who}, not the member.` : ' Nothing more to pay; not paid to the member.';
    emit(d, 'matched', at, {
      beneficiary, lineKey: line.lineKey, version: line.version, tpClaimId: c.tpClaimId, psId: c.psId, payee, entitled: line.amcAmount, claimed: c.amcAmountClaimed, owed, claimPaidOn: c.paidOn,
      amount: owed, reason: `${ref} match: ${how}.${paid}${pay}`,
    });
  }
  return { ...line, status: 'linked', claimId: c.tpClaimId, owed, heldSince: null, deadline: null, exceptionRaised: false };
}

/** The line waits for its claim; `since` keeps the start of a wait that a new version did not end. */
export function hold(d: Draft, line: LineEntry, at: string, why = ''): LineEntry {
  const heldSince = line.heldSince ?? at;
  const deadline = line.deadline ?? plusDays(heldSince, d.config.holdDays);
  const holds = (line.holds ?? 0) + 1;
  emit(d, 'held', at, {
    beneficiary: person(line), lineKey: line.lineKey, version: line.version, tpClaimId: null, psId: line.identity.psId,
    payee: null, amount: line.amcAmount, entitled: line.amcAmount,
    reason: `NOEMIE line ${line.lineKey} v${line.version} is tiers payant (tp ${line.tp ?? '?'}) and no claim confirms it${why}: ${line.amcAmount} held, never paid to the member; exception on ${dayOf(deadline)} if no claim comes.`,
  }, holds);
  return { ...line, status: 'held', claimId: null, owed: null, heldSince, deadline, holds };
}

export function lineException(d: Draft, line: LineEntry, now: string): LineEntry {
  emit(d, 'exception', now, {
    beneficiary: person(line), lineKey: line.lineKey, version: line.version, tpClaimId: null, psId: line.identity.psId,
    payee: null, amount: line.amcAmount, entitled: line.amcAmount,
    reason: `NOEMIE line ${line.lineKey} v${line.version} held since ${dayOf(line.heldSince ?? now)}: no tiers-payant claim after ${d.config.holdDays} days. A person must decide; it is not paid to the member.`,
  }, line.holds ?? 1);
  return { ...line, exceptionRaised: true };
}

export function claimException(d: Draft, entry: ClaimEntry, now: string): ClaimEntry {
  const c = entry.claim;
  emit(d, 'exception', now, {
    beneficiary: { nir: c.nir, rang: c.rang }, lineKey: null, version: null, tpClaimId: c.tpClaimId, psId: c.psId,
    payee: psPayee(c.psId), amount: c.amcAmountClaimed, claimed: c.amcAmountClaimed, claimPaidOn: c.paidOn,
    reason: `claim ${c.tpClaimId} (operator ${c.operator}, professional ${c.psId}, care ${c.careDate}, act ${c.actCode}, ${c.amcAmountClaimed}) not confirmed by any NOEMIE line after ${d.config.claimDays} days${c.paidOn === null ? '' : `; the operator paid it on ${c.paidOn}`}. A person must look at it.`,
  }, entry.waits ?? 1);
  return { ...entry, exceptionRaised: true };
}

/**
 * What the operator paid on `entry`'s claim for the care of an annulled line is indu against the
 * professional. One recovery per claim (`recoveredOn`), whichever came first — the claim or the
 * annulation — so the decision, its id and the money do not depend on the order of arrival.
 */
export function recoverOperatorPayment(d: Draft, annulled: LineEntry, entry: ClaimEntry, at: string): void {
  const c = entry.claim;
  putClaim(d, { ...entry, recoveredOn: annulled.lineKey });
  annulationIndu(d, { ...annulled, claimId: c.tpClaimId }, annulled.version, at, psPayee(c.psId), c.amcAmountClaimed, `paid by the operator ${c.operator}`);
}

export function annulationIndu(d: Draft, line: LineEntry, version: number, at: string, payee: string, amount: string, what: string): void {
  emit(d, 'annulation-indu', at, {
    beneficiary: person(line), lineKey: line.lineKey, version, tpClaimId: line.claimId, psId: line.identity.psId,
    payee, amount, entitled: '0.00', claimPaidOn: line.claimId === null ? null : (d.claims[line.claimId]?.claim.paidOn ?? null),
    reason: `the RO annulled NOEMIE line ${line.lineKey} (version ${version}) after ${amount} was ${what} to ${payee}: ${amount} indu to recover from ${payee}.`,
  });
}
