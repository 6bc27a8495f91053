import { annulledLineFor, bestClaimFor, bestLineFor } from './match.js';
import { decidePair, hold, putClaim, putLine, recoverOperatorPayment, type Draft } from './outcome.js';
import { plusDays } from './time.js';
import type { ClaimEntry, LineEntry } from './types.js';

/** Links a claim to its best free line (deciding matched / indu), or leaves it pending with its deadline. */
export function placeClaim(d: Draft, entry: ClaimEntry, at: string): void {
  // a wait starts when no deadline runs yet; one carried over (a pending claim resent) goes on
  const waits = entry.deadline === null ? (entry.waits ?? 0) + 1 : (entry.waits ?? 1);
  const pending: ClaimEntry = { ...entry, lineKey: null, deadline: entry.deadline ?? plusDays(at, d.config.claimDays), waits };
  putClaim(d, pending);
  const line = bestLineFor(d, entry.claim, d.config.tolerance);
  if (!line) {
    // The operator paid for care whose line the RO has annulled already: the same indu as when the
    // claim came first (annul() in settlement.ts); the claim still waits for a re-issued line.
    const annulled = pending.claim.paidOn !== null && pending.recoveredOn === undefined ? annulledLineFor(d, pending.claim) : undefined;
    if (annulled) recoverOperatorPayment(d, annulled, pending, at);
    return;
  }
  const linked: ClaimEntry = { ...pending, lineKey: line.lineKey, deadline: null, exceptionRaised: false };
  putClaim(d, linked);
  putLine(d, decidePair(d, line, linked, at));
}

/** Links a free TP line to its best pending claim, or holds it (never paid to the member meanwhile). */
export function placeLine(d: Draft, line: LineEntry, at: string, why = ''): void {
  const free: LineEntry = { ...line, status: 'held', claimId: null, owed: null };
  putLine(d, free);
  const candidate = bestClaimFor(d, free, d.config.tolerance);
  if (!candidate) {
    putLine(d, hold(d, free, at, why));
    return;
  }
  const entry: ClaimEntry = { ...candidate, lineKey: free.lineKey, deadline: null, exceptionRaised: false };
  putClaim(d, entry);
  putLine(d, decidePair(d, free, entry, at));
}

/** The line no longer holds its claim: the claim looks for another line, or waits again. */
export function releaseClaim(d: Draft, claimId: string | null, at: string): void {
  if (claimId === null) return;
  const entry = d.claims[claimId];
  if (entry) placeClaim(d, { ...entry, lineKey: null, deadline: null, exceptionRaised: false }, at);
}
