import { CSV_COLUMN_NAMES, CSV_COLUMNS, type ActLine } from '../../model/act-line.js';

/**
 * Writes act lines as a décompte CSV (formats.md §1b): the header, then one row per line, each
 * string ending with `\n`. Used by the fixture generator and the tests; a generator so a big file
 * is written with backpressure (`Readable.from(encodeCsv(lines))`).
 */
export function* encodeCsv(lines: Iterable<ActLine>): Generator<string> {
  yield `${CSV_COLUMN_NAMES.join(';')}\n`;
  for (const line of lines) {
    yield `${CSV_COLUMN_NAMES.map((col) => csvValue(line[CSV_COLUMNS[col]])).join(';')}\n`;
  }
}

export function csvValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'Y' : 'N';
  const text = String(value);
  // RFC 4180 quoting, only when needed: our own values never need it, a sender's ids might.
  return /[;"\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
