import type { Origin, RecordIssue } from '../../model/issues.js';
import type { Codec, DecodeInput, IngestEvent } from '../types.js';
import { readHeader } from '../csv/header.js';
import { frameLines, splitFields, unreadableLine, type FramedLine } from '../csv/lines.js';
import { invoiceEvents } from './events.js';

/**
 * Invoice CSV upload (formats.md §2, schemas/invoice.csv.schema.json): one row per invoice line,
 * the rows of one invoice consecutive. Record = line number in the file (header = line 1); an
 * invoice is accepted or rejected whole, its reject at the line of its first row.
 */
export const INVOICE_HEADER = ['invoice_id', 'amc_member_id', 'nir', 'rang', 'ps_id', 'ps_kind', 'invoice_date', 'act_code', 'care_date', 'quantity', 'expense'] as const;
/** Paper-décompte columns: a file of acts the RO never reimburses may leave them out. */
export const INVOICE_OPTIONAL = ['br', 'ro_rate', 'ro_amount', 'pf', 'franchise'] as const;
const INVOICE_FIELDS = ['invoice_id', 'amc_member_id', 'nir', 'rang', 'ps_id', 'ps_kind', 'invoice_date'] as const;

/** Bounds what one invoice can make us hold: no real invoice has a thousand lines. */
export const MAX_INVOICE_ROWS = 999;
const MAX_LINE_BYTES = 4 * 1024;

export const invoiceCsvCodec: Codec = { format: 'invoice-csv', decode: decodeInvoiceCsv };

interface Row {
  no: number;
  text: string;
  get: (col: string) => string | undefined;
}

interface Group {
  id: string;
  rows: Row[];
  extra: RecordIssue[];
}

async function* decodeInvoiceCsv(input: DecodeInput): AsyncGenerator<IngestEvent> {
  const where = input.entry === undefined ? { file: input.file } : { file: input.file, entry: input.entry };
  const stream = await input.open();
  try {
    const lines = frameLines(stream, MAX_LINE_BYTES);
    const first = await lines.next();
    const spec = { kind: 'CSV invoice file', required: INVOICE_HEADER, optional: INVOICE_OPTIONAL };
    const { index, width } = readHeader(first.done === true ? undefined : first.value, spec, where);
    const seen = new Set<string>();
    let group: Group | null = null;

    for await (const framed of lines) {
      const row = readRow(framed, index, width);
      if ('issue' in row) {
        if (row.issue === null) continue;
        // A row we cannot read belongs to no invoice we can name: it is rejected on its own.
        const origin: Origin = { ...where, record: framed.no };
        yield { kind: 'reject', rejected: { origin, issues: [row.issue], ...('text' in framed ? { raw: framed.text } : {}) } };
        continue;
      }
      const id = row.get('invoice_id') ?? '';
      if (group === null || id !== group.id) {
        if (group !== null) yield* finish(group, where);
        group = { id, rows: [], extra: [] };
        if (seen.has(id)) group.extra.push({ code: 'not_consecutive', path: ['invoice_id'], input: id, message: `the rows of invoice ${id} are not consecutive (it appeared earlier in the file)` });
        seen.add(id);
      }
      if (group.rows.length >= MAX_INVOICE_ROWS) {
        if (group.extra.every((x) => x.code !== 'too_big')) group.extra.push({ code: 'too_big', path: ['lines'], message: `invoice ${id} has more than ${MAX_INVOICE_ROWS} lines` });
        continue;
      }
      group.rows.push(row);
    }
    if (group !== null) yield* finish(group, where);
  } finally {
    stream.destroy();
  }
}

function readRow(framed: FramedLine, index: Map<string, number>, width: number): Row | { issue: RecordIssue | null } {
  const unreadable = unreadableLine(framed, MAX_LINE_BYTES);
  if (unreadable !== null) return { issue: unreadable };
  const text = (framed as { text: string }).text;
  if (text.trim() === '') return { issue: null };
  const fields = splitFields(text);
  if ('error' in fields) return { issue: { code: 'invalid_csv', path: [], message: fields.error } };
  if (fields.length !== width) return { issue: { code: 'column_count', path: [], input: fields.length, message: `row has ${fields.length} fields, the header has ${width}` } };
  return {
    no: framed.no,
    text,
    get: (col) => {
      const at = index.get(col);
      return at === undefined ? undefined : fields[at]?.trim();
    },
  };
}

function finish(group: Group, where: { file: string; entry?: string }): IngestEvent[] {
  const [head] = group.rows;
  if (head === undefined) return [];
  const extra = [...group.extra];
  // Invoice-level columns are repeated on every row: they must agree with the first.
  group.rows.slice(1).forEach((r) => {
    for (const col of INVOICE_FIELDS) {
      if (r.get(col) !== head.get(col)) {
        extra.push({ code: 'inconsistent', path: [col], input: r.get(col), message: `line ${r.no} says ${col} ${r.get(col)}, the invoice's first row (line ${head.no}) says ${head.get(col)}` });
      }
    }
  });
  const candidate = {
    invoice_id: head.get('invoice_id'),
    amc_member_id: head.get('amc_member_id'),
    nir: head.get('nir'),
    rang: integer(head.get('rang')),
    ps_id: head.get('ps_id'),
    ps_kind: head.get('ps_kind'),
    invoice_date: head.get('invoice_date'),
    lines: group.rows.map((r) => ({
      act_code: r.get('act_code'),
      care_date: r.get('care_date'),
      quantity: integer(r.get('quantity')),
      expense: r.get('expense'),
      br: optional(r.get('br')),
      ro_rate: optional(r.get('ro_rate')),
      ro_amount: optional(r.get('ro_amount')),
      pf: optional(r.get('pf')),
      franchise: optional(r.get('franchise')),
    })),
  };
  return invoiceEvents(candidate, {
    where,
    record: head.no,
    lineRecord: (i) => group.rows[i]?.no ?? head.no,
    lineNote: (i) => ` (CSV line ${group.rows[i]?.no ?? '?'})`,
    raw: group.rows.map((r) => r.text).join('\n'),
  }, extra);
}

function integer(v: string | undefined): number | string | undefined {
  return v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : v;
}

function optional(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
