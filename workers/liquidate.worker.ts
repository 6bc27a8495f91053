import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { liquidateTask as liquidate, type Reference } from '../src/pipeline/liquidate-lines.js';
import type { LiquidateTask, LiquidateTaskResult, WorkerSetup } from '../src/pipeline/pool-messages.js';
import { loadReference } from '../src/pipeline/reference.js';

/**
 * Piscina entry point (worker side of the thread boundary; the pool side is
 * src/pipeline/pool.ts). Its reference data comes in workerData: fixed files, read once, or one
 * version of the home's reference data, given whole (a new version in force gets a new pool:
 * src/pipeline/liquidator.ts). Then it liquidates each task's families against the ledgers it came
 * with (head data and the buckets of the task's lines), and sends back only what changed.
 */
const setup = workerData as WorkerSetup;
let reference: Promise<Reference> | undefined;

export default async function liquidateTask(task: LiquidateTask): Promise<LiquidateTaskResult> {
  if ('version' in setup && task.reference !== setup.version) throw new Error(`task for reference ${task.reference} sent to a worker holding ${setup.version}`);
  reference ??= 'reference' in setup ? Promise.resolve(setup.reference) : loadReference(setup);
  const result = liquidate(task, await reference);
  // The texts' buffers are transferred, not cloned (src/pipeline/task-bytes.ts): the views on them
  // arrive as views on the same memory.
  return result.bytes ? (move({ [transferableSymbol]: result.bytes, [valueSymbol]: result }) as unknown as LiquidateTaskResult) : result;
}
