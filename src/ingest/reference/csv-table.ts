import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import type { z } from 'zod';
import { PipelineError } from '../../model/errors.js';
import { fromZodIssues, type RejectedRecord } from '../../model/issues.js';
import { maskPersonalData } from '../../log.js';

/**
 * "CSV table → zod rows with located issues", shared by the reference loaders (beneficiaries,
 * PMSS, and any other `;` table with a header row). Streams the file with csv-parse; each row is
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
  /** schema field → column, so issues name the column the file uses (`nirKey` → `nir_key`) */
  fieldToColumn?: Readonly<Record<string, string>>;
  delimiter?: string;
}

export type CsvTableEvent<T> = { kind: 'row'; row: T; record: number } | { kind: 'reject'; rejected: RejectedRecord };

/** `record` in the yielded origins is the 1-based line number of the file (header = line 1). */
export async function* readCsvTable<T>(file: string, spec: CsvTableSpec<T>): AsyncGenerator<CsvTableEvent<T>> {
  const parser = createReadStream(file).pipe(
    parse({ delimiter: spec.delimiter ?? ';', bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
  );
  const toColumn = (path: PropertyKey[]) => {
    const [head, ...rest] = path.map((p) => (typeof p === 'number' ? p : String(p)));
    return head === undefined ? [] : [typeof head === 'string' ? (spec.fieldToColumn?.[head] ?? head) : head, ...rest];
  };
  let header: string[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const cells = record.map((c) => c.trim());
      if (!header) {
        header = cells;
        const missing = spec.columns.filter((c) => !header!.includes(c));
        if (missing.length > 0) {
          throw new ReferenceDataError('REFERENCE_HEADER', `${file}: header lacks column(s) ${missing.join(', ')} (expected ${spec.columns.join(';')})`, { file, record: info.lines });
        }
        continue;
      }
      const origin = { file, record: info.lines };
      if (cells.length !== header.length) {
        const issue = { code: 'column_count', path: [], input: cells.length, message: `expected ${header.length} fields, found ${cells.length}` };
        yield { kind: 'reject', rejected: { origin, issues: [issue], raw: record.join(spec.delimiter ?? ';') } };
        continue;
      }
      const byName: Record<string, string> = {};
      header.forEach((name, i) => (byName[name] = cells[i] ?? ''));
      const parsed = spec.schema.safeParse(spec.toCandidate(byName));
      if (parsed.success) yield { kind: 'row', row: parsed.data, record: info.lines };
      else yield { kind: 'reject', rejected: { origin, issues: fromZodIssues(parsed.error.issues, toColumn), raw: record.join(spec.delimiter ?? ';') } };
    }
  } catch (e) {
    if (e instanceof ReferenceDataError) throw e;
    throw new ReferenceDataError('REFERENCE_IO', `${file}: cannot read the table: ${(e as Error).message}`, { file }, [], e);
  }
  if (!header) throw new ReferenceDataError('REFERENCE_HEADER', `${file}: empty file, a header row is required`, { file });
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
