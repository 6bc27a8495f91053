import { claimException, lineException, putClaim, putLine, type Draft } from './outcome.js';
import type { ReconState } from './types.js';

/**
 * The clock moved to `now`: every wait that ran out raises its exception, once. The line or claim
 * stays matchable afterwards (a late claim still settles the line); only the alarm is not repeated.
 */
export function onTick(d: Draft, now: string): void {
  for (const key of Object.keys(d.lines).sort()) {
    const line = d.lines[key];
    if (line?.status === 'held' && !line.exceptionRaised && line.deadline !== null && line.deadline <= now) {
      putLine(d, lineException(d, line, now));
    }
  }
  for (const id of Object.keys(d.claims).sort()) {
    const entry = d.claims[id];
    if (entry && entry.lineKey === null && !entry.exceptionRaised && entry.deadline !== null && entry.deadline <= now) {
      putClaim(d, claimException(d, entry, now));
    }
  }
}

/** When the next exception falls due (null: none waiting), so a consumer ticks only the states that need it. */
export function nextDeadline(state: ReconState): string | null {
  let next: string | null = null;
  const consider = (deadline: string | null) => {
    if (deadline !== null && (next === null || deadline < next)) next = deadline;
  };
  // for…in: no array of the whole history per call (the store asks at every write)
  for (const k in state.lines) {
    const line = state.lines[k]!;
    if (line.status === 'held' && !line.exceptionRaised) consider(line.deadline);
  }
  for (const k in state.claims) {
    const c = state.claims[k]!;
    if (c.lineKey === null && !c.exceptionRaised) consider(c.deadline);
  }
  return next;
}
