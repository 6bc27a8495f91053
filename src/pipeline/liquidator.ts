import { liquidateTask } from './liquidate-lines.js';
import { PipelineStageError } from './errors.js';
import { LiquidationPool } from './pool.js';
import type { LiquidateTask, LiquidateTaskResult, WorkerSetup } from './pool-messages.js';
import { isHomeSource, type ReferenceCache } from './reference.js';

/**
 * Runs the liquidation service's tasks with the reference version each names: in this thread
 * (workers 0), or in a piscina pool whose worker threads hold ONE version, given as workerData.
 *
 * A new version in force replaces the pool, between two batches (`use`, called by the service at
 * the start of a batch). That is safe with the pool's bounded queue because the service awaits every
 * task of a batch before it returns the batch, and starts a batch under a new version only once
 * the batches under way under the old one are done (several run at once on Kafka: the service's
 * `enterReference`): when `use` replaces the pool, no task is queued or running, so closing the old pool drops nothing, and no batch ever
 * mixes two versions. The cost, starting threads (well under a second), is paid once per
 * published version, not per batch. Workers reading the home's state store themselves was the other
 * way: it would make every worker an LMDB reader of a store being written by another process, for
 * no gain, since a version changes rarely.
 */
export class Liquidator {
  private pool: { key: string; pool: LiquidationPool } | undefined;

  constructor(
    private readonly references: ReferenceCache,
    private readonly o: { workers: number; heapMb?: number | undefined; youngMb?: number | undefined },
  ) {}

  /** At a batch's start (no task in flight): the reference of `key` is loaded, and the pool holds it. */
  async use(key: string): Promise<void> {
    const reference = await this.references.get(key);
    if (this.o.workers === 0 || this.pool?.key === key) return;
    const setup: WorkerSetup = isHomeSource(this.references.source) ? { version: key, reference } : this.references.source;
    const next = new LiquidationPool({ workers: this.o.workers, setup, ...(this.o.heapMb !== undefined ? { heapMb: this.o.heapMb } : {}), ...(this.o.youngMb !== undefined ? { youngMb: this.o.youngMb } : {}) });
    const old = this.pool;
    this.pool = { key, pool: next };
    await old?.pool.close();
  }

  async run(task: LiquidateTask): Promise<LiquidateTaskResult> {
    if (this.o.workers === 0) return liquidateTask(task, await this.references.get(task.reference));
    if (this.pool?.key !== task.reference) throw new PipelineStageError('PIPELINE_WORKER', `a task for reference ${task.reference} while the pool holds ${this.pool?.key ?? 'nothing'}`);
    return this.pool.pool.run(task);
  }

  async close(): Promise<void> {
    await this.pool?.pool.close();
    this.pool = undefined;
    await this.references.close();
  }
}
