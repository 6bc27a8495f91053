import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import { PipelineStageError } from './errors.js';
import { workerEntry } from './package-root.js';
import type { LiquidateTask, LiquidateTaskResult, WorkerSetup } from './pool-messages.js';

/**
 * Pool side of the thread boundary: a piscina pool running workers/liquidate.worker.ts compiled
 * to dist/ (`npm run build`). Fixed size (min = max threads) so results never depend on how many
 * threads happened to be up. `maxQueue` bounds the tasks waiting for a thread: `run` awaits room
 * when it is full, which is what stops the service from pulling more input.
 */
export interface PoolOptions {
  workers: number;
  setup: WorkerSetup;
  /** tasks waiting beyond the running ones (default 2 per thread) */
  maxQueue?: number;
  /** the compiled worker (default: dist/workers/liquidate.worker.js of this package) */
  workerFile?: string;
  /**
   * Old-generation heap limit of each worker, MiB (default 128). Without it every worker may grow
   * to the process default (4 GiB here) before V8 collects: a worker holds its reference data and
   * one task's ledgers, the rest is garbage. A task that outgrows it fails (PIPELINE_WORKER).
   */
  heapMb?: number;
  /** young-generation size of each worker, MiB (default DEFAULT_WORKER_YOUNG_MB) */
  youngMb?: number;
}

// The CommonJS entry, not the ESM module itself: see workers/liquidate.entry.cts for why.
export const WORKER_FILE = workerEntry('liquidate.entry.cjs');

export const DEFAULT_WORKER_HEAP_MB = 128;
/**
 * Young generation of each worker, MiB. V8's default gave each worker ≈ 30 MB of young generation
 * beside ≈ 20 MB live in its old one (77–79 MB of heap each at 100 000 lines on Kafka); 16 MiB
 * keeps them at 57–58 MB, −40 MB of peak RSS for two workers, for more scavenges in threads that
 * wait for tasks half the time (bench/README.md "Session 10 — kafka").
 */
export const DEFAULT_WORKER_YOUNG_MB = 16;

export class LiquidationPool {
  private readonly piscina: Piscina<LiquidateTask, LiquidateTaskResult>;
  private readonly maxQueue: number;
  private waiting: (() => void)[] = [];

  constructor(options: PoolOptions) {
    const filename = options.workerFile ?? WORKER_FILE;
    if (!existsSync(filename)) throw new PipelineStageError('PIPELINE_WORKER', `worker ${filename} is missing: run \`npm run build\` first`, { file: filename });
    this.maxQueue = options.maxQueue ?? 2 * options.workers;
    this.piscina = new Piscina<LiquidateTask, LiquidateTaskResult>({
      filename,
      minThreads: options.workers,
      maxThreads: options.workers,
      maxQueue: this.maxQueue,
      workerData: options.setup,
      resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? DEFAULT_WORKER_HEAP_MB, maxYoungGenerationSizeMb: options.youngMb ?? DEFAULT_WORKER_YOUNG_MB },
    });
  }

  get threads(): number {
    return this.piscina.threads.length;
  }

  /** Runs a task; waits for queue room first (backpressure) instead of failing on a full queue. */
  async run(task: LiquidateTask): Promise<LiquidateTaskResult> {
    while (this.piscina.queueSize >= this.maxQueue) await new Promise<void>((r) => this.waiting.push(r));
    try {
      // A task's raw lines (task-lines.ts RawLines) are transferred, not cloned: one buffer, moved.
      return await this.piscina.run(task, task.raw ? { transferList: [task.raw.bytes] } : {});
    } catch (cause) {
      throw new PipelineStageError('PIPELINE_WORKER', `liquidation task failed: ${(cause as Error).message}`, {}, { cause });
    } finally {
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
