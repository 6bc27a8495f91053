import type { EngineState } from '../engine/index.js';
import type { LineOutcome, LineRequest } from './liquidate-lines.js';

/**
 * What crosses the thread boundary between the service (src/pipeline/pool.ts) and a worker
 * (workers/liquidate.worker.ts), by structured clone. Plain data only.
 */

/** Given once per worker (piscina workerData): the reference files it loads at start. */
export interface WorkerSetup {
  gridsDir: string;
  nomenclatureFile: string;
  pmssFile: string;
}

/**
 * One task: the lines of a set of whole families, in input order, and those families' ledgers.
 * A family is in at most one task in flight, so no two tasks ever change the same ledger.
 */
export interface LiquidateTask {
  requests: LineRequest[];
  ledgers: Record<string, EngineState>;
}

/** Settlements in request order; only the ledgers that changed. */
export interface LiquidateTaskResult {
  outcomes: LineOutcome[];
  ledgers: Record<string, EngineState>;
}
