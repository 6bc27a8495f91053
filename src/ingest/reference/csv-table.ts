import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse } from 'csv-parse';
import type { z } from 'zod';
import { PipelineError } from '../../model/errors.js';
import { fromZodIssues, type RejectedRecord } from '../../model/issues.js';
import { maskPersonalData } from '../../log.js';

/**
 * "CSV table → zod rows with located issues", shared by the reference loaders (beneficiaries,
 * PMSS, and any other `;` table with a header row). Streams the file (split here when plain, else with
 * csv-parse: `readCsvTableBatches`); each row is
 * either a validated value or a RejectedRecord naming file, line and column with ALL its issues.
 * A header that lacks a column refuses the whole table (a shifted table would be read wrong).
 */

export type ReferenceErrorCode = 'REFERENCE_HEADER' | 'REFERENCE_INVALID' | 'REFERENCE_IO';

export class ReferenceDataError extends PipelineError {
  declare readonly code: ReferenceErrorCode;
  readonly rejected: readonly RejectedRecord[];
  constructor(code: ReferenceErrorCode, message: string, context: { file: string; [k: string]: unknown }, rejected: readonly RejectedRecord[] = [], cause?: unknown) {
    super(code, message, context, { cause });
    this.rejected = rejected;
  }
}

export interface CsvTableSpec<T> {
  /** header columns the file must have (any order; extra columns are ignored) */
  columns: readonly string[];
  schema: z.ZodType<T>;
  /** trimmed text cells by column name → the candidate the schema validates */
  toCandidate(cells: Readonly<Record<string, string>>): unknown;
  /**
   * The same candidate from the row's trimmed cells and each column's position in them (the
   * header's, the last of a repeated name): no object by name made per row. Optional; when given
   * it must be `toCandidate` of the row's cells by name.
   */
  toCandidateAt?(cells: readonly string[], at: Readonly<Record<string, number>>): unknown;
  /** schema field → column, so issues name the column the file uses (`nirKey` → `nir_key`) */
  fieldToColumn?: Readonly<Record<string, string>>;
  delimiter?: string;
}

export type CsvTableEvent<T> = { kind: 'row'; row: T; record: number } | { kind: 'reject'; rejected: RejectedRecord };

/** `record` in the yielded origins is the 1-based line number of the file (header = line 1). */
export async function* readCsvTable<T>(file: string, spec: CsvTableSpec<T>): AsyncGenerator<CsvTableEvent<T>> {
  for await (const events of readCsvTableBatches(file, spec)) yield* events;
}

/**
 * `readCsvTable`'s events, a batch at a time (the rows of one read of the file): a reader that
 * takes a batch in one synchronous loop pays one await per batch, not per row.
 *
 * A file with no quote and no carriage return (the tables we are sent: tp_claims.csv at 400 000
 * rows a day) is split here, line by line on `\n` and cell by cell on the delimiter: that is
 * exactly what csv-parse makes of such a file with the options below (no quoting, no other record
 * delimiter to detect; a line is a record, an empty line is skipped, `info.lines` is the line's
 * number) — tested against it on generated tables (test/ingest/csv-table-fast.test.ts). csv-parse
 * with `info`, its stream and a promise a row was ≈ 15 µs a row, most of the TP claims' reading
 * on the service's thread (bench/README.md "Session 20 — ingest"). Any other file (a quote, a CR,
 * a UTF-16 byte order mark) goes through csv-parse as before.
 */
export async function* readCsvTableBatches<T>(file: string, spec: CsvTableSpec<T>): AsyncGenerator<CsvTableEvent<T>[]> {
  const delimiter = spec.delimiter ?? ';';
  const rows = new TableRows(file, spec, delimiter);
  try {
    if (await plainText(file)) {
      for await (const lines of plainLines(file)) {
        const out: CsvTableEvent<T>[] = [];
        for (const [line, number] of lines) {
          const ev = rows.row(line.split(delimiter), number);
          if (ev) out.push(ev);
        }
        if (out.length > 0) yield out;
      }
    } else {
      const parser = createReadStream(file).pipe(parse({ delimiter, bom: true, info: true, relax_column_count: true, skip_empty_lines: true }));
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        const ev = rows.row(record, info.lines);
        if (ev) yield [ev];
      }
    }
  } catch (e) {
    if (e instanceof ReferenceDataError) throw e;
    throw new ReferenceDataError('REFERENCE_IO', `${file}: cannot read the table: ${(e as Error).message}`, { file }, [], e);
  }
  if (!rows.header) throw new ReferenceDataError('REFERENCE_HEADER', `${file}: empty file, a header row is required`, { file });
}

/** A table's records (csv-parse's, or the plain splitter's) to events: the header first, then rows. */
class TableRows<T> {
  header: string[] | undefined;
  private at: Record<string, number> = {};
  constructor(
    private readonly file: string,
    private readonly spec: CsvTableSpec<T>,
    private readonly delimiter: string,
  ) {}

  private readonly toColumn = (path: PropertyKey[]) => {
    const [head, ...rest] = path.map((p) => (typeof p === 'number' ? p : String(p)));
    return head === undefined ? [] : [typeof head === 'string' ? (this.spec.fieldToColumn?.[head] ?? head) : head, ...rest];
  };

  /** the event of one record (none for the header) */
  row(record: string[], lines: number): CsvTableEvent<T> | undefined {
    const { file, spec, header } = this;
    const cells = record.map((c) => c.trim());
    if (!header) {
      this.header = cells;
      const missing = spec.columns.filter((c) => !cells.includes(c));
      if (missing.length > 0) {
        throw new ReferenceDataError('REFERENCE_HEADER', `${file}: header lacks column(s) ${missing.join(', ')} (expected ${spec.columns.join(';')})`, { file, record: lines });
      }
      cells.forEach((name, i) => (this.at[name] = i));
      return undefined;
    }
    if (cells.length !== header.length) {
      const issue = { code: 'column_count', path: [], input: cells.length, message: `expected ${header.length} fields, found ${cells.length}` };
      return { kind: 'reject', rejected: { origin: { file, record: lines }, issues: [issue], raw: record.join(this.delimiter) } };
    }
    let candidate: unknown;
    if (spec.toCandidateAt) candidate = spec.toCandidateAt(cells, this.at);
    else {
      const byName: Record<string, string> = {};
      header.forEach((name, i) => (byName[name] = cells[i] ?? ''));
      candidate = spec.toCandidate(byName);
    }
    const parsed = spec.schema.safeParse(candidate);
    if (parsed.success) return { kind: 'row', row: parsed.data, record: lines };
    return { kind: 'reject', rejected: { origin: { file, record: lines }, issues: fromZodIssues(parsed.error.issues, this.toColumn), raw: record.join(this.delimiter) } };
  }
}

const PLAIN_CHUNK = 1024 * 1024;
const QUOTE = 0x22;
const CR = 0x0d;

/** The file has no quote and no CR, and does not start with a UTF-16 byte order mark (csv-parse's `bom` would switch encoding). */
async function plainText(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(PLAIN_CHUNK);
    let first = true;
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, PLAIN_CHUNK, pos);
      if (bytesRead === 0) return true;
      const data = buf.subarray(0, bytesRead);
      if (first && bytesRead >= 2 && ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))) return false;
      first = false;
      if (data.indexOf(QUOTE) !== -1 || data.indexOf(CR) !== -1) return false;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/**
 * The non-empty lines of a plain file with their 1-based numbers, a read at a time: split on the
 * newline byte (never inside a UTF-8 sequence), decoded as UTF-8, the UTF-8 byte order mark taken
 * off the first line as csv-parse's `bom` does.
 */
async function* plainLines(file: string): AsyncGenerator<[string, number][]> {
  const fh = await open(file, 'r');
  try {
    // the bytes after the last newline read so far: the start of a line the next read ends
    let carry: Buffer = Buffer.alloc(0);
    let number = 0;
    let first = true;
    for (let pos = 0; ; ) {
      const buf = Buffer.allocUnsafe(PLAIN_CHUNK);
      const { bytesRead } = await fh.read(buf, 0, PLAIN_CHUNK, pos);
      pos += bytesRead;
      const data = carry.length === 0 ? buf.subarray(0, bytesRead) : Buffer.concat([carry, buf.subarray(0, bytesRead)]);
      // at the end of the file, what is left is the last line (no newline after it)
      const end = bytesRead === 0 ? data.length : data.lastIndexOf(0x0a);
      if (end === -1) {
        carry = data;
        continue;
      }
      let text = data.toString('utf8', 0, end);
      carry = bytesRead === 0 ? Buffer.alloc(0) : Buffer.from(data.subarray(end + 1));
      if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
      const out: [string, number][] = [];
      for (const line of text.split('\n')) {
        number += 1;
        if (line.length > 0) out.push([line, number]);
      }
      if (out.length > 0) yield out;
      if (bytesRead === 0) return;
    }
  } finally {
    await fh.close();
  }
}

export interface CsvTable<T> {
  rows: { row: T; record: number }[];
  rejected: RejectedRecord[];
}

/** Reference tables are small enough to hold (they are indexed in memory anyway). */
export async function loadCsvTable<T>(file: string, spec: CsvTableSpec<T>): Promise<CsvTable<T>> {
  const table: CsvTable<T> = { rows: [], rejected: [] };
  for await (const ev of readCsvTable(file, spec)) {
    if (ev.kind === 'row') table.rows.push({ row: ev.row, record: ev.record });
    else table.rejected.push(ev.rejected);
  }
  return table;
}

const ALWAYS_MASKED = new Set(['nir', 'iban']);

/**
 * A field value fit for a report or a message: NIR/IBAN-looking text masked wherever it appears,
 * and the NIR / IBAN fields masked whatever they hold (a 12-digit "NIR" is still someone's NIR).
 */
export function maskFieldValue(path: readonly (string | number)[], value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const last = path[path.length - 1];
  if (typeof last === 'string' && ALWAYS_MASKED.has(last.toLowerCase()) && text.length > 1) {
    return `${text.slice(0, 1)}${'*'.repeat(Math.min(text.length - 1, 14))}`;
  }
  return maskPersonalData(text);
}

/** `beneficiaries.csv line 4, field nir_key: NIR key 12 does not match the NIR (value "12")` — personal data masked. */
export function describeRejected(r: RejectedRecord): string[] {
  return r.issues.map((i) => {
    const field = i.path.length > 0 ? `, field ${i.path.join('.')}` : '';
    const value = i.input === undefined ? '' : ` (value "${maskFieldValue(i.path, i.input)}")`;
    return maskPersonalData(`${r.origin.file} line ${r.origin.record}${field}: ${i.message}${value}`);
  });
}

/** Strict loading: any rejected row refuses the table, the message lists the first issues. */
export function throwIfRejected(file: string, rejected: readonly RejectedRecord[]): void {
  if (rejected.length === 0) return;
  const lines = rejected.flatMap(describeRejected);
  const shown = lines.slice(0, 10).map((l) => `  ${l}`).join('\n');
  const more = lines.length > 10 ? `\n  … and ${lines.length - 10} more issue(s)` : '';
  throw new ReferenceDataError('REFERENCE_INVALID', `${file}: ${rejected.length} invalid row(s):\n${shown}${more}`, { file, record: rejected[0]?.origin.record }, rejected);
}
