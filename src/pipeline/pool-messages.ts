import type { EngineState } from '../engine/index.js';
import type { LedgerChange } from './ledgers.js';
import type { LineOutcome, LineRequest } from './liquidate-lines.js';

/**
 * What crosses the thread boundary between the service (src/pipeline/pool.ts) and a worker
 * (workers/liquidate.worker.ts), by structured clone. Plain data only.
 */

/** Reference files named explicitly (`--reference <dir>`, tests): read once, never change. */
export interface ReferenceFiles {
  gridsDir: string;
  nomenclatureFile: string;
  pmssFile: string;
}

/**
 * Given once per worker (piscina workerData): where its reference data comes from. Either fixed
 * files, or a home whose state store holds versioned reference data (src/pipeline/reference-store.ts):
 * then each task names the version its batch uses, and a worker loads a version it has not got.
 */
export type WorkerSetup = ReferenceFiles | { home: string };

/**
 * One task: the lines of a set of whole families, in input order, and those families' ledgers,
 * each with only the line buckets the task's lines fall in (the engine reads no other: a line's
 * record is looked up in its own bucket). A family is in at most one task in flight, so no two
 * tasks ever change the same ledger.
 */
export interface LiquidateTask {
  /** the reference version of the task's batch (reference.ts referenceVersionKey): the worker reloads when it changes */
  reference: string;
  requests: LineRequest[];
  ledgers: Record<string, EngineState>;
}

/** Settlements in request order; of the ledgers that changed, the head data and the changed buckets only. */
export interface LiquidateTaskResult {
  outcomes: LineOutcome[];
  ledgers: Record<string, LedgerChange>;
}
