import type { TpClaim } from '../model/tp-claim.js';
import { canMatch, sameCareEvent } from './match.js';
import { decidePair, putClaim, putLine, type Draft } from './outcome.js';
import { placeClaim, placeLine } from './pairing.js';
import type { ClaimEntry } from './types.js';

/**
 * A TP claim reaches reconciliation. The same content twice changes nothing; a resend with other
 * content (the operator now reports it paid, or corrects a field) is a new revision judged again.
 */

function sameClaim(a: TpClaim, b: TpClaim): boolean {
  return (Object.keys(a) as (keyof TpClaim)[]).every((k) => a[k] === b[k]) && Object.keys(a).length === Object.keys(b).length;
}

export function onClaim(d: Draft, claim: TpClaim, at: string): void {
  const prev = Object.hasOwn(d.claims, claim.tpClaimId) ? d.claims[claim.tpClaimId] : undefined;
  if (prev && sameClaim(prev.claim, claim)) return;
  const entry: ClaimEntry = {
    claim,
    revision: (prev?.revision ?? 0) + 1,
    receivedAt: prev?.receivedAt ?? at,
    lineKey: null,
    // a pending claim resent keeps its original wait; one that loses its line starts a new one
    deadline: prev && prev.lineKey === null ? prev.deadline : null,
    exceptionRaised: prev && prev.lineKey === null ? prev.exceptionRaised : false,
    ...(prev?.recoveredOn === undefined ? {} : { recoveredOn: prev.recoveredOn }),
  };
  const line = prev?.lineKey ? d.lines[prev.lineKey] : undefined;
  if (line && canMatch(line) && sameCareEvent(line, claim)) {
    const linked = { ...entry, lineKey: line.lineKey };
    putClaim(d, linked);
    putLine(d, decidePair(d, line, linked, at));
    return;
  }
  placeClaim(d, entry, at);
  if (line && line.status === 'linked' && line.claimId === claim.tpClaimId) {
    // the corrected claim no longer names this line: it takes another pending claim, or waits again
    placeLine(d, line, at, ` (claim ${claim.tpClaimId} was corrected and no longer matches it)`);
  }
}
