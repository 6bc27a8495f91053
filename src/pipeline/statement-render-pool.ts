import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import { BoundedJobs } from './bounded-jobs.js';
import { PipelineStageError } from './errors.js';
import { workerEntry } from './package-root.js';
import { DEFAULT_WORKER_YOUNG_MB } from './pool.js';
import { serialize } from 'node:v8';
import type { FamilyTaskInput, StatementRenderResult, StatementRenderSetup, StatementRenderTask } from './statement-render-messages.js';

/**
 * Pool side of the statement workers' thread boundary (worker side: workers/statements.worker.ts;
 * messages: statement-render-messages.ts). The statement pass (statement-pass.ts) reads each
 * family on the main thread — the index, the payment facts, the members: LevelDB opens in one
 * thread only — and hands a few whole families at a time to a worker, which renders their
 * statements and writes (and fsyncs) their files. The main thread's work per family is then its
 * reads; rendering and files run beside them on threads that idle after the liquidation (profile
 * of session 12: bench/README.md "Session 12 — statements").
 *
 * Memory is bounded: `submit` waits while `inFlight` tasks are queued or running (backpressure
 * on the pass's reads). `drain` resolves once every task submitted so far has resolved — with
 * `durable`, once their files are on disk — which is when the pass may clear those families'
 * marks; it throws the first task's failure.
 */
export interface StatementRenderPoolOptions {
  threads: number;
  setup: StatementRenderSetup;
  /** tasks queued or running at once (default 2 per thread) */
  inFlight?: number;
  /** the compiled worker entry (default: dist/workers/statements.entry.cjs of this package) */
  workerFile?: string;
  /** benches: add up the structured-clone size of each task (v8.serialize: one copy more per task) */
  measureClone?: boolean;
}

export const STATEMENT_WORKER_FILE = workerEntry('statements.entry.cjs');

/** Old-generation heap of a statement worker, MiB: it holds a task's families and their rendering, nothing between tasks. */
const WORKER_HEAP_MB = 128;

export class StatementRenderPool {
  /** started with the first task: a pass with no family to write starts no thread (a restart with nothing new) */
  private piscina: Piscina<StatementRenderTask, StatementRenderResult> | undefined;
  private readonly jobs: BoundedJobs;
  readonly counts = { written: 0, unchanged: 0 };
  /** with measureClone: tasks sent, their structured-clone bytes in all and the largest */
  readonly clone = { tasks: 0, bytes: 0, largest: 0 };

  constructor(private readonly options: StatementRenderPoolOptions) {
    const filename = options.workerFile ?? STATEMENT_WORKER_FILE;
    if (!existsSync(filename)) throw new PipelineStageError('PIPELINE_WORKER', `worker ${filename} is missing: run \`npm run build\` first`, { file: filename });
    this.jobs = new BoundedJobs(options.inFlight ?? 2 * options.threads, (cause) => new PipelineStageError('PIPELINE_WORKER', `statement task failed: ${(cause as Error).message}`, {}, { cause }));
  }

  private started(): Piscina<StatementRenderTask, StatementRenderResult> {
    const options = this.options;
    return (this.piscina ??= new Piscina<StatementRenderTask, StatementRenderResult>({
      filename: options.workerFile ?? STATEMENT_WORKER_FILE,
      minThreads: options.threads,
      maxThreads: options.threads,
      workerData: options.setup,
      // the liquidation workers' young generation too (pool.ts): V8's default made each worker's heap ≈ 30 MB larger
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: DEFAULT_WORKER_YOUNG_MB },
    }));
  }

  /** Hands these families to a worker; waits while `inFlight` tasks are queued or running. */
  async submit(families: FamilyTaskInput[]): Promise<void> {
    const task: StatementRenderTask = { families };
    await this.jobs.add(() => {
      if (this.options.measureClone) {
        const bytes = serialize(task).length;
        this.clone.tasks += 1;
        this.clone.bytes += bytes;
        this.clone.largest = Math.max(this.clone.largest, bytes);
      }
      return this.started().run(task).then((r) => {
        this.counts.written += r.written;
        this.counts.unchanged += r.unchanged;
      });
    });
  }

  /** Waits for every task submitted so far (durable: their files synced); throws the first that failed. */
  async drain(): Promise<void> {
    await this.jobs.drain();
  }

  async close(): Promise<void> {
    await this.jobs.settle();
    await this.piscina?.close();
  }
}
