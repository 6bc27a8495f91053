import { Decimal } from 'decimal.js';
import type { Settlement } from '../model/settlement.js';
import { isTiersPayantLine, type TpClaim } from '../model/tp-claim.js';
import { centsOf } from '../model/cents.js';
import type { ClaimEntry, LineEntry, ReconState } from './types.js';

/**
 * The matching rule (README.md "Matching rule"): a claim and a NOEMIE line belong together when they
 * name the same beneficiary (NIR + rang), care date, executing professional and act, and their
 * invoice numbers do not disagree (compared only when both carry one). The amount does not decide
 * WHETHER they match — a claim for more than the entitlement is exactly the indu to detect — but it
 * picks the best pair when several lines or claims qualify: same invoice number first, then an
 * amount within the tolerance, then the oldest (lineKey / receipt order).
 */

export function sameCareEvent(line: LineEntry, claim: TpClaim): boolean {
  const id = line.identity;
  if (id.psId === null) return false;
  if (id.nir !== claim.nir || id.rang !== claim.rang || id.careDate !== claim.careDate) return false;
  if (id.psId !== claim.psId || id.actCode !== claim.actCode) return false;
  return !(line.invoiceNo !== null && claim.invoiceNo !== null && line.invoiceNo !== claim.invoiceNo);
}

/**
 * What `sameCareEvent` compares besides the beneficiary and the invoice number: a line and a claim
 * can pair only when these are equal, so the consumer's store finds a claim's candidate lines (and
 * a line's candidate claims) under this key instead of reading the beneficiary's whole history.
 * A line with no professional gets '' (it never pairs).
 */
export type CareEvent = [careDate: string, psId: string, actCode: string];

export function careEventOfLine(line: Pick<LineEntry, 'identity'>): CareEvent {
  return [line.identity.careDate, line.identity.psId ?? '', line.identity.actCode];
}

export function careEventOfClaim(claim: TpClaim): CareEvent {
  return [claim.careDate, claim.psId, claim.actCode];
}

/**
 * Whether deciding this settlement can look among its care event's entries: a tiers-payant line
 * to place (it takes a pending claim) or an annulation (a claim the operator paid, waiting, is
 * recovered). A member line (tp 00/05) or one under review takes no claim: what its previous
 * version was linked to is reached through that version (its claim, and that claim's care event).
 * The consumer's store reads a care event only when something can look in it.
 */
export function looksInCareEvent(s: Pick<Settlement, 'operation' | 'tp' | 'payee' | 'status'>): boolean {
  return s.operation === 'A' || (isTiersPayantLine(s) && s.status !== 'review');
}

/**
 * Whether a line is one the decider finds by its care event (`bestLineFor`: held or linked;
 * `annulledLineFor`: annulled), hence listed in the consumer's care-event index; a member or review
 * line is only ever reached by its lineKey (a new version, an annulation). Every claim is listed.
 */
export function findableInCareEvent(line: LineEntry): boolean {
  return line.status === 'held' || line.status === 'linked' || line.status === 'annulled';
}

/** A line can take a claim when it is a TP line that is neither annulled nor under review. */
export function canMatch(line: LineEntry): boolean {
  return line.status === 'held' || line.status === 'linked';
}

export function withinTolerance(a: string, b: string, tolerance: string): boolean {
  const ca = centsOf(a);
  const cb = centsOf(b);
  const ct = centsOf(tolerance);
  if (ca !== null && cb !== null && ct !== null) return Math.abs(ca - cb) <= ct;
  return new Decimal(a).minus(b).abs().lte(tolerance);
}

/** How well a line and a claim pair, lower is better: the same invoice number first, then an amount within the tolerance (0..3). */
function rank(line: LineEntry, claim: TpClaim, tolerance: string): number {
  const invoice = line.invoiceNo !== null && line.invoiceNo === claim.invoiceNo ? 0 : 2;
  const amount = withinTolerance(line.amcAmount, claim.amcAmountClaimed, tolerance) ? 0 : 1;
  return invoice + amount;
}

/*
 * The three look-ups below walk the entries once, keeping the best so far, instead of sorting an
 * array of keys or of entries first and taking the first of the best rank: the same choice (the
 * smallest by rank, then by the order they sorted in), without the arrays — bestClaimFor's
 * Object.values + filter + sort was the decider's largest self time in the 100 k profile
 * (bench/README.md, "Session 14 — reconciliation").
 */

/** The free line the claim should be matched to (best rank, then the smallest lineKey), or undefined. */
export function bestLineFor(state: ReconState, claim: TpClaim, tolerance: string): LineEntry | undefined {
  let best: LineEntry | undefined;
  let bestKey = '';
  let bestRank = 4;
  for (const key in state.lines) {
    const line = state.lines[key];
    if (!line || line.claimId !== null || !canMatch(line) || !sameCareEvent(line, claim)) continue;
    const r = rank(line, claim, tolerance);
    if (r < bestRank || (r === bestRank && key < bestKey)) {
      best = line;
      bestKey = key;
      bestRank = r;
    }
  }
  return best;
}

/** An annulled line naming the claim's care event (the first by lineKey), or undefined. */
export function annulledLineFor(state: ReconState, claim: TpClaim): LineEntry | undefined {
  let best: LineEntry | undefined;
  let bestKey = '';
  for (const key in state.lines) {
    const line = state.lines[key];
    if (line && line.status === 'annulled' && sameCareEvent(line, claim) && (best === undefined || key < bestKey)) {
      best = line;
      bestKey = key;
    }
  }
  return best;
}

/** Pending claim `a` comes before `b`: received earlier, then the smaller id (the oldest claim). */
function receivedBefore(a: ClaimEntry, b: ClaimEntry): boolean {
  return a.receivedAt === b.receivedAt ? a.claim.tpClaimId < b.claim.tpClaimId : a.receivedAt < b.receivedAt;
}

/** The pending claim the line should be matched to (best rank, then the oldest), or undefined. */
export function bestClaimFor(state: ReconState, line: LineEntry, tolerance: string): ClaimEntry | undefined {
  let best: ClaimEntry | undefined;
  let bestRank = 4;
  for (const id in state.claims) {
    const c = state.claims[id]!;
    if (c.lineKey !== null || !sameCareEvent(line, c.claim)) continue;
    const r = rank(line, c.claim, tolerance);
    if (r < bestRank || (r === bestRank && receivedBefore(c, best!))) {
      best = c;
      bestRank = r;
    }
  }
  return best;
}
