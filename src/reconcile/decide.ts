import { Decimal } from 'decimal.js';
import { MONEY_PATTERN } from '../model/money.js';
import { onClaim } from './claim.js';
import { ReconError } from './errors.js';
import { draftOf, type Draft } from './outcome.js';
import { onSettlement } from './settlement.js';
import { onTick } from './tick.js';
import { instant } from './time.js';
import type { ReconOutcome } from '../model/reconciliation.js';
import { DEFAULT_RECON_CONFIG, type ReconConfig, type ReconDecision, type ReconEvent, type ReconState } from './types.js';

/**
 * The reconciliation decider: `decide(state, event)` → the outcomes to publish and the state to
 * keep. Pure: no I/O, no clock (instants come in the events), the given state is never changed.
 * When nothing changes the very same state object comes back (nothing to write to the changelog).
 */

export function initialReconState(): ReconState {
  return { lines: {}, claims: {}, seq: 0 };
}

export function checkReconConfig(config: ReconConfig): ReconConfig {
  for (const k of ['holdDays', 'claimDays'] as const) {
    if (!Number.isInteger(config[k]) || config[k] < 0) throw new ReconError('RECON_BAD_CONFIG', `${k} must be a whole number of days ≥ 0, received ${config[k]}`, { field: k });
  }
  if (!MONEY_PATTERN.test(config.tolerance) || new Decimal(config.tolerance).isNegative()) {
    throw new ReconError('RECON_BAD_CONFIG', `tolerance must be an amount ≥ 0 with two decimals, e.g. "0.00", received ${JSON.stringify(config.tolerance)}`, { field: 'tolerance' });
  }
  return config;
}

export function decide(state: ReconState, event: ReconEvent, config: ReconConfig = DEFAULT_RECON_CONFIG): ReconDecision {
  const fold = foldOf(state, config);
  const outcomes = fold.decide(event);
  return { outcomes, state: fold.state };
}

/**
 * Several events of ONE key decided on one working copy: the same outcomes and final state as
 * `decide` folded over them, but the state's maps are copied once, not once per event (a batch
 * often brings several lines of one beneficiary; a copy costs its whole history). `state` is the
 * given one while no event changed anything. The given state is never changed; the one `state`
 * returns belongs to the fold until its last `decide` (read it after).
 */
export interface ReconFold {
  readonly state: ReconState;
  decide(event: ReconEvent): ReconOutcome[];
}

/** configs checked already (a service decides thousands of folds with one config object) */
const checked = new WeakSet<ReconConfig>();

export function foldOf(state: ReconState, config: ReconConfig = DEFAULT_RECON_CONFIG): ReconFold {
  if (!checked.has(config)) checked.add(checkReconConfig(config));
  let current = state;
  let d: Draft | null = null;
  return {
    get state() {
      return current;
    },
    decide(event) {
      d ??= draftOf(state, config);
      d.outcomes = [];
      d.changed = false;
      apply(d, event);
      if (!d.changed && d.outcomes.length === 0) return [];
      current = { lines: d.lines, claims: d.claims, seq: d.seq };
      return d.outcomes;
    },
  };
}

function apply(d: Draft, event: ReconEvent): void {
  switch (event.kind) {
    case 'settlement':
      return onSettlement(d, event.settlement, instant(event.at, 'at'));
    case 'claim':
      return onClaim(d, event.claim, instant(event.at, 'at'));
    case 'tick':
      return onTick(d, instant(event.now, 'now'));
    default: {
      const unknown: never = event;
      throw new ReconError('RECON_BAD_EVENT', `unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Folds events in order (a replay, a test): the outcomes of all, the final state. */
export function decideAll(state: ReconState, events: Iterable<ReconEvent>, config: ReconConfig = DEFAULT_RECON_CONFIG): ReconDecision {
  const outcomes = [];
  let current = state;
  for (const e of events) {
    const r = decide(current, e, config);
    outcomes.push(...r.outcomes);
    current = r.state;
  }
  return { outcomes, state: current };
}

/** The partition key the state is kept under: the beneficiary (NIR-rang), as settlements are keyed. Ticks go to every key. */
export function reconKeyOf(event: ReconEvent): string | null {
  switch (event.kind) {
    case 'settlement':
      return `${event.settlement.beneficiary.nir}-${event.settlement.beneficiary.rang}`;
    case 'claim':
      return `${event.claim.nir}-${event.claim.rang}`;
    case 'tick':
      return null;
  }
}
