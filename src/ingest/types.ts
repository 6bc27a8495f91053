import type { Readable } from 'node:stream';
import type { ActLine } from '../model/act-line.js';
import type { Origin, RejectedRecord } from '../model/issues.js';
import { PipelineError, type ErrorContext } from '../model/errors.js';

/**
 * What every codec yields, record by record, in file order. Codecs never throw for a bad record
 * (that is a `reject` event and the rest of the file goes on); they throw an `IngestError` only
 * when the whole file/entry must be refused (totals mismatch, wrong format, hostile input).
 */
export type IngestEvent =
  | {
      kind: 'line';
      line: ActLine;
      origin: Origin;
      /**
       * `JSON.stringify(line)` when the reader made it already (the ingest's row decoder makes it in
       * its worker thread, src/pipeline/row-decoder.ts): a sink writes it instead of serialising the
       * line again on its own thread. Absent from the codecs' own events.
       */
      json?: string;
    }
  | { kind: 'reject'; rejected: RejectedRecord };

/**
 * Consecutive accepted lines of one part, prepared by a row decoder for a sink that takes them
 * together (`IngestSink.lineRun`): what the service's thread needs of them, without the lines
 * themselves. Rebuilding each line as an object on that thread (structured clone), handing it
 * through three async hops and summing its amounts in decimal.js was most of the ingest's cost
 * there (bench/README.md "Session 14 — ingest").
 */
export interface LineRun {
  kind: 'lines';
  /** the part's file and ZIP entry (each line's origin is these and its record number) */
  where: { file: string; entry?: string };
  /** each line's record number, in order */
  records: number[];
  /**
   * Each line's text for the bus sink's spool, up to its record id (src/pipeline/spool-line.ts
   * `spoolLinePrefix`): what the sink would have made of the line itself.
   */
  spool: string[];
  /** UTF-8 bytes of `spool`, all lines together */
  spoolBytes: number;
  /** what the part's summary counts of these lines (summary.ts `PartTally.run`) */
  tally: RunTally;
}

/** The summary's figures over a run of consecutive accepted lines (summary.ts). */
export interface RunTally {
  lines: number;
  /** the (caisse, décompte id) key of the first and last line, and how often it changes inside the run */
  firstDecompte: string;
  lastDecompte: string;
  decompteChanges: number;
  /** signed sums in whole cents (annulations negative), as decimal integer strings: exact at any size */
  expenseCents: string;
  roCents: string;
}

/**
 * Where each model field sits in a row of one file (its header), and how many fields a row has:
 * what `decodeCsvRow` needs to read a row of that file anywhere (`noemie liquidate` reads the rows
 * in its shard threads).
 */
export interface CsvRowLayout {
  positions: (readonly [keyof ActLine, number])[];
  width: number;
}

/**
 * A décompte CSV framed into rows, not yet validated: first the file's layout, then each non-blank
 * row's text with its line number, or the reject of a line that cannot even be read as text (too
 * long, not UTF-8). `decodeCsvRow` turns a row into what `decode` yields for it; `decode` is
 * exactly `rows` then `decodeCsvRow`, so the two ways of reading a file report the same.
 */
export type CsvRowEvent =
  | { kind: 'layout'; layout: CsvRowLayout }
  | { kind: 'row'; record: number; text: string }
  | { kind: 'reject'; rejected: RejectedRecord };

/**
 * `zip` and `unknown` never reach a codec: they label a part refused before any codec ran (a whole
 * archive that cannot be opened, a nested archive, an entry whose extension names no format).
 */
export type DropFormat = 'noemie' | 'csv' | 'xml' | 'invoice-json' | 'invoice-csv' | 'zip' | 'unknown';

export interface DecodeInput {
  /** drop file name as received */
  file: string;
  /** entry name when the bytes come from inside a ZIP */
  entry?: string;
  /**
   * Opens a fresh byte stream of the file or entry. Two-pass codecs (NOEMIE control totals are
   * checked before anything is published) call it twice; memory stays bounded either way.
   */
  open(): Promise<Readable>;
}

export interface Codec {
  format: DropFormat;
  decode(input: DecodeInput): AsyncIterable<IngestEvent>;
  /** the CSV décompte codec only: the rows framed, each validated later by `decodeCsvRow` (src/ingest/csv/codec.ts) */
  rows?(input: DecodeInput): AsyncIterable<CsvRowEvent>;
}

/** One decodable part of a drop: the file itself, or one entry of a ZIP archive. */
export interface DropPart {
  file: string;
  entry?: string;
  format: DropFormat;
  /** consume fully before asking for the next part (ZIP entries are streamed one at a time) */
  events: AsyncIterable<IngestEvent>;
  /**
   * A CSV décompte part only: the same records framed but not validated (`Codec.rows`), for a
   * reader that validates them elsewhere (`noemie liquidate`'s shards). Iterate either `events` or
   * `rows`, not both; the same refusals are thrown.
   */
  rows?: AsyncIterable<CsvRowEvent>;
}

export type IngestErrorCode =
  | 'INGEST_CONTROL_TOTALS'
  | 'INGEST_FORMAT_MISMATCH'
  | 'INGEST_UNKNOWN_FORMAT'
  | 'INGEST_ZIP_SLIP'
  | 'INGEST_ZIP_BOMB'
  | 'INGEST_ZIP_CORRUPT'
  | 'INGEST_XML_DOCTYPE'
  | 'INGEST_XML_MALFORMED'
  | 'INGEST_CSV_HEADER'
  | 'INGEST_STRUCTURE'
  | 'INGEST_IO';

/** A whole file or entry is refused: nothing of it is published, it goes to quarantine with a report. */
export class IngestError extends PipelineError {
  declare readonly code: IngestErrorCode;
  constructor(code: IngestErrorCode, message: string, context: ErrorContext, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(code, message, context, options);
  }
}

/** Per file (or ZIP entry) figures printed by `noemie ingest` and kept in the archive ledger. */
export interface PartSummary {
  file: string;
  entry?: string;
  format: DropFormat;
  records: number;
  accepted: number;
  rejected: number;
  decomptes: number;
  /** sums of accepted lines, Money strings */
  expense: string;
  roAmount: string;
  /** set when the whole part was refused */
  error?: { code: string; message: string; context: ErrorContext };
}
