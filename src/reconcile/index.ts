/** Tiers-payant reconciliation: the pure decider (README.md in this folder has the matching rule). */
export { decide, decideAll, foldOf, initialReconState, reconKeyOf, checkReconConfig, type ReconFold } from './decide.js';
export { decodeReconState, encodeReconState, isCompactState, type CompactState } from './state-codec.js';
export { nextDeadline } from './tick.js';
export { parseReconState, ReconStateSchema } from './state-schema.js';
export { ReconError, type ReconErrorCode } from './errors.js';
export { DEFAULT_RECON_CONFIG } from './types.js';
export type { ReconConfig, ReconEvent, ReconState, ReconDecision, LineEntry, ClaimEntry, LineStatus, Identity } from './types.js';
export { careEventOfClaim, careEventOfLine, findableInCareEvent, looksInCareEvent, type CareEvent } from './match.js';
export { identityOf, slimSettlement } from './settlement.js';
