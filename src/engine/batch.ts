import type { Settlement } from '../model/settlement.js';
import { LiquidationKernel } from './kernel/index.js';
import { liquidate } from './liquidate.js';
import { emptyState, stateKeyOf } from './state.js';
import type { EngineState, LiquidationContext, LiquidationRequest } from './types.js';

/**
 * Liquidates requests in order, each against its family's ledger (one EngineState per adhérent).
 * The ledgers come in as a plain record and go out as a new one; liquidating a list in one call or
 * in several with the ledgers carried over gives the same settlements.
 * Runs on the kernel (kernel/kernel.ts: integer cents, copy-on-write ledgers, decimal.js for what
 * it does not compute exactly); `liquidateAllDecimal` is the same loop on the decimal.js engine
 * alone, the reference the kernel is checked against.
 */
export type Ledgers = Readonly<Record<string, EngineState>>;

export function liquidateAll(
  requests: Iterable<LiquidationRequest>,
  context: LiquidationContext,
  ledgers: Ledgers = {},
): { settlements: Settlement[]; ledgers: Ledgers } {
  return new LiquidationKernel(context).liquidateAll(requests, context.asOf, ledgers);
}

export function liquidateAllDecimal(
  requests: Iterable<LiquidationRequest>,
  context: LiquidationContext,
  ledgers: Ledgers = {},
): { settlements: Settlement[]; ledgers: Ledgers } {
  const next: Record<string, EngineState> = { ...ledgers };
  const settlements: Settlement[] = [];
  for (const request of requests) {
    const key = stateKeyOf(request);
    const before = Object.hasOwn(next, key) ? next[key]! : emptyState();
    const { settlement, state } = liquidate(request, context, before);
    next[key] = state;
    settlements.push(settlement);
  }
  return { settlements, ledgers: next };
}
