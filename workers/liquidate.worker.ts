import { workerData } from 'piscina';
import { liquidateTask as liquidate, type Reference } from '../src/pipeline/liquidate-lines.js';
import type { LiquidateTask, LiquidateTaskResult, WorkerSetup } from '../src/pipeline/pool-messages.js';
import { loadReference } from '../src/pipeline/reference.js';

/**
 * Piscina entry point (worker side of the thread boundary; the pool side is
 * src/pipeline/pool.ts). Loads grids, nomenclature and PMSS once per thread from the paths in
 * workerData, then liquidates each task's families against the ledgers it came with (head data and the
 * buckets of the task's lines), and sends back only what changed.
 */
let reference: Promise<Reference> | undefined;

export default async function liquidateTask(task: LiquidateTask): Promise<LiquidateTaskResult> {
  reference ??= loadReference(workerData as WorkerSetup);
  return liquidate(task, await reference);
}
