import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ZipLimits } from '../config.js';
import type { ErrorContext } from '../model/errors.js';
import { readDrop } from './drop.js';
import { IngestError, type CsvRowEvent, type DropPart, type IngestEvent, type LineRun, type PartSummary } from './types.js';
import { NullSink, type IngestSink, type PartRef } from './sink.js';
import { PartTally, totalsOf, type Totals } from './summary.js';

/**
 * Reads every part of one drop and sends its records to a sink, part by part, with staging: a part
 * refused by its codec (IngestError) is aborted in the sink (nothing of it published) and recorded
 * with its error; the next parts go on. Any other error (a sink that cannot write, a bug) aborts the
 * current part and is thrown: the drop was not fully handled and must not be archived as such.
 */

export type DropReader = (path: string, options?: { limits?: ZipLimits; name?: string }) => AsyncIterable<DropPart>;

/**
 * Validates a CSV part's framed rows elsewhere (src/pipeline/row-decoder.ts: in a worker thread),
 * yielding exactly what the codec's `decode` yields for them (`rows` then `decodeCsvRow`, in order),
 * and throwing what `rows` throws after the events before it.
 */
export type RowDecoder = (rows: AsyncIterable<CsvRowEvent>, where: { file: string; entry?: string }) => AsyncIterable<IngestEvent>;

/**
 * A `RowDecoder` that hands consecutive accepted lines over as runs (`LineRun`, for a sink with
 * `lineRun`), rejects one by one, in file order; the same lines, rejects and refusal otherwise.
 */
export type RowRunDecoder = (rows: AsyncIterable<CsvRowEvent>, where: { file: string; entry?: string }) => AsyncIterable<LineRun | Extract<IngestEvent, { kind: 'reject' }>>;

export interface IngestProgress {
  file: string;
  entry?: string;
  /** records read in the current part */
  records: number;
  /** records read in the whole drop so far */
  total: number;
}

export interface IngestDropOptions {
  sink?: IngestSink;
  limits?: ZipLimits;
  reader?: DropReader;
  /** the drop's name as received, when `path` is a staging copy */
  name?: string;
  /** already computed by the caller (the inbox hashes before deciding to read) */
  sha256?: string;
  /** called every `progressEvery` records and at the end of each part; the caller throttles by time */
  onProgress?: (p: IngestProgress) => void;
  progressEvery?: number;
  /** checked between records: the current part is aborted in the sink and an AbortError thrown */
  signal?: AbortSignal;
  /**
   * Called once a part is fully read, just before the sink commits (publishes) it. Throwing aborts
   * the part and the drop (the error is rethrown): the inbox checks here that the file did not
   * change while it was read (inbox/settled.ts).
   */
  beforeCommit?: (part: PartRef) => Promise<void>;
  /** given: a part that offers its rows (a CSV décompte part) is read as rows and validated by it */
  decodeRows?: RowDecoder;
  /** given, and the sink takes runs (`lineRun`): a part that offers its rows is read as runs by it instead */
  decodeRowRuns?: RowRunDecoder;
}

export interface DropResult {
  file: string;
  sha256: string;
  parts: PartSummary[];
  totals: Totals;
  /** the drop itself could not be listed (not a known format, corrupt ZIP…): nothing or only the parts before it were read */
  error?: { code: string; message: string; context: ErrorContext };
}

/** Streamed SHA-256 (hex) of a file: constant memory whatever its size. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

export async function ingestDrop(path: string, options: IngestDropOptions = {}): Promise<DropResult> {
  const sink: IngestSink = options.sink ?? new NullSink();
  const reader = options.reader ?? readDrop;
  const every = options.progressEvery ?? 4096;
  const name = options.name ?? basename(path);
  const sha256 = options.sha256 ?? (await sha256File(path));
  const parts: PartSummary[] = [];
  let total = 0;
  let dropError: DropResult['error'];

  const readerOptions = { name, ...(options.limits ? { limits: options.limits } : {}) };
  const iterator = reader(path, readerOptions)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<DropPart>;
      try {
        next = await iterator.next();
      } catch (e) {
        if (!(e instanceof IngestError)) throw e;
        dropError = { code: e.code, message: e.message, context: e.context };
        break;
      }
      if (next.done) break;
      const part = next.value;
      const ref = part.entry === undefined ? { file: part.file, format: part.format } : { file: part.file, entry: part.entry, format: part.format };
      const tally = new PartTally();
      const progress = () => options.onProgress?.({ ...ref, records: tally.records, total });
      await sink.beginPart(ref);
      try {
        const where = part.entry === undefined ? { file: part.file } : { file: part.file, entry: part.entry };
        const lineRun = sink.lineRun?.bind(sink);
        if (options.decodeRowRuns !== undefined && lineRun !== undefined && part.rows !== undefined) {
          for await (const ev of options.decodeRowRuns(part.rows, where)) {
            options.signal?.throwIfAborted();
            const before = total;
            if (ev.kind === 'lines') {
              tally.run(ev.tally);
              await lineRun(ev);
              total += ev.tally.lines;
            } else {
              tally.reject();
              await sink.reject(ev.rejected);
              total += 1;
            }
            // a run counts as its lines: progress whenever it passes a multiple of `every`
            if (Math.floor(total / every) !== Math.floor(before / every)) progress();
          }
        } else {
          const events = options.decodeRows !== undefined && part.rows !== undefined ? options.decodeRows(part.rows, where) : part.events;
          for await (const ev of events) {
            options.signal?.throwIfAborted();
            if (ev.kind === 'line') {
              tally.line(ev.line);
              await sink.line(ev);
            } else {
              tally.reject();
              await sink.reject(ev.rejected);
            }
            total += 1;
            if (total % every === 0) progress();
          }
        }
        await options.beforeCommit?.(ref);
      } catch (e) {
        const refused = tally.refused(ref, e instanceof IngestError ? e : { code: 'INGEST_ABORTED', message: (e as Error).message });
        await sink.abortPart(refused);
        if (!(e instanceof IngestError)) throw e;
        parts.push(refused);
        progress();
        continue;
      }
      const summary = tally.done(ref);
      await sink.commitPart(summary);
      parts.push(summary);
      progress();
    }
  } finally {
    // lets the reader close its ZIP handle when we stop early
    await iterator.return?.();
  }
  return { file: name, sha256, parts, totals: totalsOf(parts), ...(dropError ? { error: dropError } : {}) };
}

/** Something of the drop was read: it goes to the archive (its refused parts, if any, are reported). */
export function anyPartRead(result: DropResult): boolean {
  return result.parts.some((p) => !p.error);
}

/** Exit-code rule of `noemie ingest`: everything was read (rejected records allowed). */
export function fullyRead(result: DropResult): boolean {
  return !result.error && result.totals.refusedParts === 0;
}
