import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import type { CsvRowEvent, IngestEvent } from '../ingest/types.js';
import type { RowDecoder, RowRunDecoder } from '../ingest/ingest-drop.js';
import { PipelineStageError } from './errors.js';
import { WORKER_FILE } from './pool.js';
import type { DecodedRows, DecodedRuns, DecodeRowsTask } from './row-decode-messages.js';

/**
 * The ingest's CSV rows validated in a worker thread (workers/decode-rows.worker.ts) instead of
 * on the service's thread: `decodeCsvRow` (splitting, zod, the reject's issues) was the largest
 * slice of that thread's time while a drop is read — ≈ 15 µs a row, ≈ 8 KB of garbage —,
 * while the liquidation workers wait for the part's commit (bench/README.md "Session 12 —
 * mainthread"). The service's thread frames the rows (the codec's `rows`: header, line framing,
 * the refusals) and gets the events back in file order, the same events `decode` yields
 * (`decode` is `rows` then `decodeCsvRow`), a batch at a time, a few batches ahead.
 *
 * One thread, started on the first batch and let go when idle: a drop is read one part at a time,
 * and one thread validates rows faster than the service's thread spools them.
 */
const BATCH_ROWS = 512;
/** batches sent ahead of the one being handed out: the worker validates while the service spools */
const AHEAD = 4;
const IDLE_MS = 2_000;

export class RowDecodePool {
  private readonly piscina: Piscina<DecodeRowsTask, DecodedRows | DecodedRuns>;

  constructor(workerFile: string = WORKER_FILE) {
    if (!existsSync(workerFile)) throw new PipelineStageError('PIPELINE_WORKER', `worker ${workerFile} is missing: run \`npm run build\` first`, { file: workerFile });
    this.piscina = new Piscina<DecodeRowsTask, DecodedRows | DecodedRuns>({
      filename: workerFile,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: IDLE_MS,
      workerData: { entry: './decode-rows.worker.js' },
      // a batch of rows and its events: a small heap is plenty
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    });
  }

  /** The decoder to give ingestDrop (`decodeRows`). */
  readonly decode: RowDecoder = (rows, where) => this.decodeRows(rows, where, false) as AsyncGenerator<IngestEvent>;

  /**
   * The decoder to give ingestDrop (`decodeRowRuns`) for a sink that takes runs of lines (the bus
   * sink): the same rows validated the same way, each run of lines between rejects handed over as
   * its spool texts and figures (`LineRun`) instead of one line event each.
   */
  readonly decodeRuns: RowRunDecoder = (rows, where) => this.decodeRows(rows, where, true) as AsyncGenerator<DecodedRuns[number]>;

  private async *decodeRows(rows: AsyncIterable<CsvRowEvent>, where: { file: string; entry?: string }, runs: boolean): AsyncGenerator<IngestEvent | DecodedRuns[number]> {
    const ahead: Promise<(IngestEvent | DecodedRuns[number])[]>[] = [];
    const send = (task: DecodeRowsTask) => {
      const done = this.piscina.run(task).catch(
        (cause: unknown) => {
          throw new PipelineStageError('PIPELINE_WORKER', `ingest row decoder: ${(cause as Error).message}`, { file: where.file }, { cause });
        },
      );
      // awaited in turn below; a consumer that stops early must not leave an unhandled rejection
      done.catch(() => undefined);
      ahead.push(done);
    };
    let layout: DecodeRowsTask['layout'] | undefined;
    let texts: string[] = [];
    let records: number[] = [];
    const flush = () => {
      if (texts.length === 0) return;
      send({ layout: layout!, where, texts, records, ...(runs ? { runs } : {}) });
      texts = [];
      records = [];
    };
    let failure: { error: unknown } | undefined;
    try {
      for await (const ev of rows) {
        if (ev.kind === 'layout') {
          flush();
          layout = ev.layout;
        } else if (ev.kind === 'reject') {
          // a line that could not be framed: its reject keeps its place among the rows
          flush();
          ahead.push(Promise.resolve([ev]));
        } else {
          texts.push(ev.text);
          records.push(ev.record);
          if (texts.length >= BATCH_ROWS) flush();
        }
        while (ahead.length > AHEAD) yield* await ahead.shift()!;
      }
      flush();
    } catch (error) {
      // the part is refused (its rows threw): what was read before is handed out first, as `decode` would
      failure = { error };
      flush();
    }
    while (ahead.length > 0) yield* await ahead.shift()!;
    if (failure) throw failure.error;
  }

  async close(): Promise<void> {
    await this.piscina.close();
  }
}
