/**
 * The liquidation engine: pure functions over plain data. Imports src/model, decimal.js and zod
 * only — no node:*, no I/O, no clock (`context.asOf`), no module state.
 */
export { liquidate, estimate } from './liquidate.js';
export { liquidateAll, liquidateAllDecimal, type Ledgers } from './batch.js';
export { LiquidationKernel, type KernelStats } from './kernel/index.js';
export { emptyState, stateKeyOf, lineRecord } from './state.js';
export { payeeOf } from './decide.js';
export { hashInputs, digestOf, canonicalJson, fnv1a64, lineHashOf, namesLine, LINE_HASH_PREFIX } from './hash.js';
export { periodOf, counterKey, renewalKey } from './periods.js';
export type { LiquidationRequest, LiquidationContext, EngineState, LineRecord, RenewalEntry, Consumption, Liquidation } from './types.js';
