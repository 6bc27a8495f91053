import { ActLineSchema } from '../../model/act-line.js';
import { InvoiceSchema } from '../../model/invoice.js';
import { fromZodIssues, type Origin, type RecordIssue } from '../../model/issues.js';
import type { IngestEvent } from '../types.js';
import { ACT_LINE_TO_INVOICE, toActLines } from './to-act-lines.js';

export interface InvoicePlace {
  where: { file: string; entry?: string };
  /** record of the invoice as a whole (its reject) */
  record: number;
  /** record of its line i (0-based) */
  lineRecord: (i: number) => number;
  /** appended to an issue message about line i, e.g. " (CSV line 4)" */
  lineNote?: (i: number) => string;
  raw: string;
}

/**
 * Validates one candidate invoice (the JSON document, or the CSV rows of one invoice_id) and turns
 * it into events. An invoice is accepted or rejected whole — it is one document from one member —
 * and its reject lists every issue, with paths in the invoice's terms (`lines[2].care_date` is
 * `["lines", 2, "care_date"]`, 0-based as in the document).
 */
export function invoiceEvents(candidate: unknown, place: InvoicePlace, extra: RecordIssue[] = []): IngestEvent[] {
  const parsed = InvoiceSchema.safeParse(candidate, { reportInput: true });
  const issues = [...extra, ...(parsed.success ? [] : fromZodIssues(parsed.error.issues))];
  if (!parsed.success || issues.length > 0) return [rejectInvoice(place, issues)];

  const lines = toActLines(parsed.data);
  const checked = lines.map((l) => ActLineSchema.safeParse(l, { reportInput: true }));
  // Rules of the act line an invoice schema does not hold (e.g. a negative expense) still apply.
  const lineIssues = checked.flatMap((c, i) => (c.success ? [] : fromZodIssues(c.error.issues, (p) => invoicePath(p, i))));
  if (lineIssues.length > 0) return [rejectInvoice(place, lineIssues)];
  return checked.flatMap((c, i): IngestEvent[] => (c.success ? [{ kind: 'line', line: c.data, origin: { ...place.where, record: place.lineRecord(i) } }] : []));
}

function rejectInvoice(place: InvoicePlace, issues: RecordIssue[]): IngestEvent {
  const noted = issues.map((x) => {
    const i = x.path[0] === 'lines' && typeof x.path[1] === 'number' ? x.path[1] : undefined;
    return i === undefined || place.lineNote === undefined ? x : { ...x, message: `${x.message}${place.lineNote(i)}` };
  });
  const origin: Origin = { ...place.where, record: place.record };
  return { kind: 'reject', rejected: { origin, issues: noted, raw: place.raw } };
}

function invoicePath(path: PropertyKey[], i: number): (string | number)[] {
  const field = ACT_LINE_TO_INVOICE[String(path[0])];
  if (field === undefined) return path.map((p) => (typeof p === 'number' ? p : String(p)));
  return field.line ? ['lines', i, field.name] : [field.name];
}
