import { Decimal } from 'decimal.js';
import { MONEY_PATTERN } from '../model/money.js';
import { onClaim } from './claim.js';
import { ReconError } from './errors.js';
import { draftOf } from './outcome.js';
import { onSettlement } from './settlement.js';
import { onTick } from './tick.js';
import { instant } from './time.js';
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
  const d = draftOf(state, checkReconConfig(config));
  switch (event.kind) {
    case 'settlement':
      onSettlement(d, event.settlement, instant(event.at, 'at'));
      break;
    case 'claim':
      onClaim(d, event.claim, instant(event.at, 'at'));
      break;
    case 'tick':
      onTick(d, instant(event.now, 'now'));
      break;
    default: {
      const unknown: never = event;
      throw new ReconError('RECON_BAD_EVENT', `unknown event ${JSON.stringify(unknown)}`);
    }
  }
  if (!d.changed && d.outcomes.length === 0) return { outcomes: [], state };
  return { outcomes: d.outcomes, state: { lines: d.lines, claims: d.claims, seq: d.seq } };
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
