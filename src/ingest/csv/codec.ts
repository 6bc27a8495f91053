import { ActLineSchema, CSV_COLUMN_NAMES, CSV_COLUMNS, CSV_OPTIONAL_COLUMN_NAMES, CSV_OPTIONAL_COLUMNS, FIELD_TO_CSV, candidateFromText, type ActLine } from '../../model/act-line.js';
import { fromZodIssues, type Origin, type RecordIssue, type RejectedRecord } from '../../model/issues.js';
import type { Codec, CsvRowEvent, CsvRowLayout, DecodeInput, IngestEvent } from '../types.js';
import { readHeader } from './header.js';
import { frameLines, splitFields, unreadableLine } from './lines.js';

/**
 * Décompte CSV (formats.md §1b): `;`, UTF-8, header row required (any column order), one row per
 * act line. Record = the line number in the file, the header being line 1. Empty lines are skipped
 * (they hold nothing to lose). Layout: schemas/decompte-lines.csv.schema.json.
 */

/** A décompte row is ~250 bytes; 16 KiB leaves room for long ids and quoting, and bounds memory. */
export const DEFAULT_MAX_CSV_LINE_BYTES = 16 * 1024;

export interface CsvCodecOptions {
  maxLineBytes?: number;
}

export function createCsvCodec(options: CsvCodecOptions = {}): Codec {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_CSV_LINE_BYTES;
  return { format: 'csv', decode: (input) => decodeCsv(input, maxLineBytes), rows: (input) => csvRows(input, maxLineBytes) };
}

export const csvCodec: Codec = createCsvCodec();

const HEADER_SPEC = { kind: 'CSV décompte file', required: CSV_COLUMN_NAMES, optional: CSV_OPTIONAL_COLUMN_NAMES };

async function* decodeCsv(input: DecodeInput, maxLineBytes: number): AsyncGenerator<IngestEvent> {
  const where = input.entry === undefined ? { file: input.file } : { file: input.file, entry: input.entry };
  let layout: CsvRowLayout | undefined;
  for await (const ev of csvRows(input, maxLineBytes)) {
    if (ev.kind === 'layout') layout = ev.layout;
    else if (ev.kind === 'reject') yield ev;
    else yield decodeCsvRow(ev.text, { ...where, record: ev.record }, layout!);
  }
}

async function* csvRows(input: DecodeInput, maxLineBytes: number): AsyncGenerator<CsvRowEvent> {
  const where = input.entry === undefined ? { file: input.file } : { file: input.file, entry: input.entry };
  const stream = await input.open();
  try {
    const lines = frameLines(stream, maxLineBytes);
    const first = await lines.next();
    const { index, width } = readHeader(first.done === true ? undefined : first.value, HEADER_SPEC, where);
    const positions: (readonly [keyof ActLine, number])[] = CSV_COLUMN_NAMES.map((col) => [CSV_COLUMNS[col], index.get(col) ?? -1] as const);
    // Optional columns (finess) are read when the header has them; a file without them reads as before.
    for (const col of CSV_OPTIONAL_COLUMN_NAMES) {
      const at = index.get(col);
      if (at !== undefined) positions.push([CSV_OPTIONAL_COLUMNS[col], at]);
    }
    yield { kind: 'layout', layout: { positions, width } };

    for await (const framed of lines) {
      const unreadable = unreadableLine(framed, maxLineBytes);
      if (unreadable !== null) {
        yield reject({ ...where, record: framed.no }, [unreadable], 'text' in framed ? framed.text : undefined);
        continue;
      }
      const text = (framed as { text: string }).text;
      if (text.trim() === '') continue;
      yield { kind: 'row', record: framed.no, text };
    }
  } finally {
    stream.destroy();
  }
}

/** One row of a décompte CSV (a line framed by `rows`) as the act line it holds, or its reject listing every issue. */
export function decodeCsvRow(text: string, origin: Origin, layout: CsvRowLayout): IngestEvent {
  const fields = splitFields(text);
  if ('error' in fields) return reject(origin, [{ code: 'invalid_csv', path: [], message: fields.error }], text);
  if (fields.length !== layout.width) {
    const message = `row has ${fields.length} fields, the header has ${layout.width}`;
    return reject(origin, [{ code: 'column_count', path: [], input: fields.length, message }], text);
  }
  const byField: Partial<Record<keyof ActLine, string>> = {};
  for (const [field, pos] of layout.positions) byField[field] = fields[pos];
  const parsed = ActLineSchema.safeParse(candidateFromText(byField, 'noemie'), { reportInput: true });
  if (parsed.success) return { kind: 'line', line: parsed.data, origin };
  return reject(origin, fromZodIssues(parsed.error.issues, toCsvPath), text);
}

/** Issues name the CSV column the sender wrote, not our model field. */
function toCsvPath(path: PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === 'number' ? p : FIELD_TO_CSV[String(p)] ?? String(p)));
}

function reject(origin: Origin, issues: RecordIssue[], raw: string | undefined): { kind: 'reject'; rejected: RejectedRecord } {
  return { kind: 'reject', rejected: raw === undefined ? { origin, issues } : { origin, issues, raw } };
}
