import { workerData } from 'piscina';
import { liquidateTask as liquidate } from '../src/pipeline/liquidate-lines.js';
import type { LiquidateTask, LiquidateTaskResult, WorkerSetup } from '../src/pipeline/pool-messages.js';
import { ReferenceCache } from '../src/pipeline/reference.js';

/**
 * Piscina entry point (worker side of the thread boundary; the pool side is
 * src/pipeline/pool.ts). Each task names the reference version of its batch (fixed files, or the
 * version ids in force in the home's state store when the batch began): the worker keeps the last
 * version it loaded and loads another when a task names it — that is how a grid version published
 * while the service runs reaches the threads without restarting them (src/pipeline/README.md
 * "Reference data of a home"). Then it liquidates the task's families against the ledgers it came
 * with (head data and the buckets of the task's lines), and sends back only what changed.
 */
let cache: ReferenceCache | undefined;

export default async function liquidateTask(task: LiquidateTask): Promise<LiquidateTaskResult> {
  cache ??= new ReferenceCache(workerData as WorkerSetup);
  return liquidate(task, await cache.get(task.reference));
}
