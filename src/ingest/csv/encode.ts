import { CSV_COLUMN_NAMES, CSV_COLUMNS, CSV_OPTIONAL_COLUMNS, type ActLine, type CsvOptionalColumn } from '../../model/act-line.js';

/**
 * Writes act lines as a décompte CSV (formats.md §1b): the header, then one row per line, each
 * string ending with `\n`. Used by the fixture generator and the tests; a generator so a big file
 * is written with backpressure (`Readable.from(encodeCsv(lines))`).
 */
export interface CsvEncodeOptions {
  /** optional columns to write, after the formats.md ones (e.g. `['finess']`); none by default, as files were before them */
  optionalColumns?: readonly CsvOptionalColumn[];
}

export function* encodeCsv(lines: Iterable<ActLine>, options: CsvEncodeOptions = {}): Generator<string> {
  const columns = [...CSV_COLUMN_NAMES.map((c) => CSV_COLUMNS[c]), ...(options.optionalColumns ?? []).map((c) => CSV_OPTIONAL_COLUMNS[c])];
  yield `${[...CSV_COLUMN_NAMES, ...(options.optionalColumns ?? [])].join(';')}\n`;
  for (const line of lines) {
    yield `${columns.map((field) => csvValue(line[field])).join(';')}\n`;
  }
}

export function csvValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'Y' : 'N';
  const text = String(value);
  // RFC 4180 quoting, only when needed: our own values never need it, a sender's ids might.
  return /[;"\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
