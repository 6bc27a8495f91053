import { IngestError } from '../types.js';
import type { ErrorContext } from '../../model/errors.js';
import { splitFields, type FramedLine } from './lines.js';

export interface HeaderSpec {
  /** what the file should be, for messages: "CSV décompte file" */
  kind: string;
  required: readonly string[];
  optional?: readonly string[];
}

export interface Header {
  /** column name → position in a row */
  index: Map<string, number>;
  /** number of fields every row must have */
  width: number;
}

/**
 * Checks the header row (line 1) and returns where each column is. Column order is free; a
 * missing, unknown or repeated column refuses the whole file, naming every such column at once.
 */
export function readHeader(first: FramedLine | undefined, spec: HeaderSpec, where: ErrorContext): Header {
  const ctx = { ...where, record: 1 };
  if (first === undefined) throw new IngestError('INGEST_CSV_HEADER', `${label(where)} is empty: a ${spec.kind} starts with a header row`, ctx);
  if ('overlong' in first) throw new IngestError('INGEST_CSV_HEADER', `${label(where)}: the header row is ${first.bytes} bytes long, not a ${spec.kind} header`, ctx);
  if ('invalidUtf8' in first) throw new IngestError('INGEST_CSV_HEADER', `${label(where)}: the header row is not valid UTF-8`, ctx);
  const fields = splitFields(first.text);
  if ('error' in fields) throw new IngestError('INGEST_CSV_HEADER', `${label(where)}: cannot read the header row: ${fields.error}`, ctx);

  const names = fields.map((f) => f.trim());
  const known = new Set([...spec.required, ...(spec.optional ?? [])]);
  const index = new Map<string, number>();
  const unknown: string[] = [];
  const repeated: string[] = [];
  names.forEach((n, i) => {
    if (!known.has(n)) unknown.push(n === '' ? `(empty, column ${i + 1})` : n);
    else if (index.has(n)) repeated.push(n);
    else index.set(n, i);
  });
  const missing = spec.required.filter((c) => !index.has(c));
  if (missing.length > 0 || unknown.length > 0 || repeated.length > 0) {
    const parts = [
      missing.length > 0 ? `missing column(s) ${missing.join(', ')}` : '',
      unknown.length > 0 ? `unknown column(s) ${unknown.join(', ')}` : '',
      repeated.length > 0 ? `repeated column(s) ${repeated.join(', ')}` : '',
    ].filter((p) => p !== '');
    throw new IngestError('INGEST_CSV_HEADER', `${label(where)}: bad ${spec.kind} header: ${parts.join('; ')}`, {
      ...ctx,
      missing,
      unknown,
      repeated,
    });
  }
  return { index, width: names.length };
}

export function label(where: ErrorContext): string {
  return where.entry ? `${String(where.file)}!${where.entry}` : String(where.file);
}
