import type { IngestEvent, CsvRowLayout, LineRun } from '../ingest/types.js';

/**
 * What crosses the thread boundary between the ingest's row decoder (src/pipeline/row-decoder.ts)
 * and its worker (workers/decode-rows.worker.ts), by structured clone. Plain data only.
 */

/** A batch of CSV rows of one file, in file order, to validate as `decodeCsvRow` does. */
export interface DecodeRowsTask {
  layout: CsvRowLayout;
  /** the part's file and ZIP entry: each row's origin is these and its record number */
  where: { file: string; entry?: string };
  texts: string[];
  records: number[];
  /** true: the lines come back as runs (`DecodedRuns`), for a sink that takes them */
  runs?: boolean;
}

/**
 * The batch's events, one per row in its order, as they are: packing the lines as values without
 * their names (as a pool task's lines are, task-lines.ts) cloned fewer bytes but cost the service's
 * thread more to rebuild (4.4 against 3.5 µs a row, `npm run bench:mainthread-clone`'s method).
 */
export type DecodedRows = IngestEvent[];

/**
 * The batch as runs of consecutive lines (`LineRun`: each line's spool text, record number and the
 * summary's figures) between its rejects, in row order: a few strings and numbers a line cross the
 * boundary instead of the line's object, and the service's thread builds nothing of it.
 */
export type DecodedRuns = (LineRun | Extract<IngestEvent, { kind: 'reject' }>)[];
