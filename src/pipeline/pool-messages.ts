import type { EngineState } from '../engine/index.js';
import type { LedgerChange } from './ledgers.js';
import type { LineOutcome, LineRequest, Reference } from './liquidate-lines.js';

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
 * Given once per worker (piscina workerData): its reference data. Either fixed files it reads at
 * start, or one version of a home's reference data (src/pipeline/reference-store.ts), the data
 * itself, read once by the service: a pool holds one version, and the service replaces the pool
 * between two batches when a new version is in force (liquidator.ts says why that is safe).
 */
export type WorkerSetup = ReferenceFiles | { version: string; reference: Reference };

/**
 * One task: the lines of a set of whole families, in input order, and those families' ledgers,
 * each with only the line buckets the task's lines fall in (the engine reads no other: a line's
 * record is looked up in its own bucket). A family is in at most one task in flight, so no two
 * tasks ever change the same ledger.
 */
export interface LiquidateTask {
  /** the reference version of the task's batch (reference.ts referenceVersionKey): a worker holding another refuses the task */
  reference: string;
  requests: LineRequest[];
  ledgers: Record<string, EngineState>;
}

/** Settlements in request order; of the ledgers that changed, the head data and the changed buckets only. */
export interface LiquidateTaskResult {
  outcomes: LineOutcome[];
  ledgers: Record<string, LedgerChange>;
}
