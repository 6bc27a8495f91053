import { CSV_COLUMN_NAMES } from '../model/act-line.js';
import { RECORD_LENGTH, fieldSpec, type FieldSpec } from '../ingest/noemie/layout.js';
import { BadPlan, impossibleDate, wrongKey, type BadRecord } from './bad-plan.js';

/**
 * Corrupts the planned records in the encoded text of a drop (after encoding: a wrong NIR key, 30
 * February, "12,50" for an amount, an overlong record or field, an unknown enum value cannot be
 * held by a valid ActLine). Streams line by line; records each corruption's place (file, entry,
 * record number as the decoder counts it) in the plan for the expected-reject report.
 * The encoders write one record per text line and never quote our values, which these rely on.
 */
export interface Where {
  file: string;
  entry?: string;
}

/** Re-cuts a chunk stream into text lines (without their `\n`), then batches them back (~64 KiB). */
function* byLines(chunks: Iterable<string>, edit: (line: string) => string): Generator<string> {
  let rest = '';
  let out: string[] = [];
  let size = 0;
  for (const chunk of chunks) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      const edited = edit(line);
      out.push(edited);
      size += edited.length + 1;
      if (size >= 65_536) {
        yield `${out.join('\n')}\n`;
        out = [];
        size = 0;
      }
    }
  }
  if (rest !== '') out.push(edit(rest));
  if (out.length > 0) yield `${out.join('\n')}${rest === '' ? '\n' : ''}`;
}

function located(t: BadRecord, where: Where, record: number, field: string, value: string): void {
  Object.assign(t, { field, value, file: where.file, record, ...(where.entry !== undefined ? { entry: where.entry } : {}) });
}

export function injectCsv(chunks: Iterable<string>, plan: BadPlan, where: Where): Generator<string> {
  let no = 0;
  let col: Record<string, number> = {};
  return byLines(chunks, (line) => {
    no += 1;
    const cells = line.split(';');
    if (no === 1) {
      col = Object.fromEntries(cells.map((c, i) => [c, i]));
      for (const name of CSV_COLUMN_NAMES) if (col[name] === undefined) throw new Error(`CSV header lacks ${name}`);
      return line;
    }
    if (cells[col.operation as number] !== 'I') return line;
    const t = plan.target(cells[col.decompte_id as number] ?? '', cells[col.line_no as number] ?? '');
    if (!t) return line;
    const [field, value] = corruptText(t.kind, (name) => cells[col[name] as number] ?? '');
    cells[col[field] as number] = value;
    located(t, where, no, field, value);
    return cells.join(';');
  });
}

export function injectXml(chunks: Iterable<string>, plan: BadPlan, where: Where): Generator<string> {
  let decompteId = '';
  let initial = false;
  let lineOrdinal = 0;
  let pendingKey: { t: BadRecord; value: string } | null = null;
  const attr = (line: string, name: string) => new RegExp(` ${name}="([^"]*)"`).exec(line)?.[1] ?? '';
  const setAttr = (line: string, name: string, value: string) => line.replace(new RegExp(` ${name}="[^"]*"`), ` ${name}="${value}"`);
  return byLines(chunks, (line) => {
    const tag = /^\s*<(decompte|beneficiary|line)[\s/>]/.exec(line)?.[1];
    if (tag === 'decompte') {
      decompteId = attr(line, 'id');
      initial = attr(line, 'operation') === 'I';
      return line;
    }
    if (tag === 'beneficiary') {
      const t = initial ? plan.nirKeyTarget(decompteId) : undefined;
      if (!t) return line;
      const value = wrongKey(attr(line, 'nirKey'));
      pendingKey = { t, value };
      return setAttr(line, 'nirKey', value);
    }
    if (tag !== 'line') return line;
    lineOrdinal += 1;
    if (pendingKey) {
      located(pendingKey.t, where, lineOrdinal, 'nir_key', pendingKey.value);
      pendingKey = null;
      return line;
    }
    const t = initial ? plan.target(decompteId, attr(line, 'lineNo')) : undefined;
    if (!t || t.kind === 'nir_key') return line;
    const [field, value] = corruptText(t.kind, (name) => attr(line, camel(name)));
    located(t, where, lineOrdinal, field, value);
    return setAttr(line, camel(field), value);
  });
}

/** For CSV and XML (same values, text form): the column to spoil and what to write there. */
function corruptText(kind: BadRecord['kind'], get: (column: string) => string): [string, string] {
  switch (kind) {
    case 'nir_key':
      return ['nir_key', wrongKey(get('nir_key'))];
    case 'date':
      return ['care_start', impossibleDate(get('care_start'))];
    case 'amount':
      return ['expense', get('expense').replace('.', ',')];
    case 'overlong':
      return ['act_code', `${get('act_code')}${'X'.repeat(20)}`];
    case 'enum':
      return ['pathway', 'X'];
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

function camel(column: string): string {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

const N = {
  decompteId: fieldSpec('100', 'decompte_id'),
  operation: fieldSpec('100', 'operation'),
  nirKey: fieldSpec('103', 'nir_key'),
  lineNo: fieldSpec('255', 'line_no'),
  careStart: fieldSpec('255', 'care_start'),
  expense: fieldSpec('255', 'expense'),
  pathway: fieldSpec('255', 'pathway'),
};
const slice = (rec: string, f: FieldSpec) => rec.slice(f.offset, f.offset + f.length);
const put = (rec: string, f: FieldSpec, v: string) => `${rec.slice(0, f.offset)}${v.padEnd(f.length).slice(0, f.length)}${rec.slice(f.offset + f.length)}`;

export function* injectNoemie(chunks: Iterable<Buffer>, plan: BadPlan, where: Where): Generator<Buffer> {
  let no = 0;
  let decompteId = '';
  let initial = false;
  let pendingKey: { t: BadRecord; value: string } | null = null;
  // Latin-1 maps bytes to characters one to one: positions in the string are byte positions.
  const text = (function* () {
    for (const c of chunks) yield c.toString('latin1');
  })();
  for (const out of byLines(text, (rec) => {
    no += 1;
    const entity = rec.slice(0, 3);
    if (entity === '100') {
      decompteId = slice(rec, N.decompteId).trim();
      initial = slice(rec, N.operation) === 'I';
    } else if (entity === '103' && initial) {
      const t = plan.nirKeyTarget(decompteId);
      if (t) {
        const value = wrongKey(slice(rec, N.nirKey));
        pendingKey = { t, value };
        return put(rec, N.nirKey, value);
      }
    } else if (entity === '255' && initial) {
      if (pendingKey) {
        located(pendingKey.t, where, no, 'nir_key', pendingKey.value);
        pendingKey = null;
        return rec;
      }
      const t = plan.target(decompteId, Number(slice(rec, N.lineNo)));
      if (!t || t.kind === 'nir_key') return rec;
      return corruptRecord(t, rec, where, no);
    }
    return rec;
  })) {
    yield Buffer.from(out, 'latin1');
  }
}

function corruptRecord(t: BadRecord, rec: string, where: Where, no: number): string {
  switch (t.kind) {
    case 'date': {
      const value = impossibleDate(slice(rec, N.careStart).replace(/^(\d{4})(\d{2})(\d{2})$/, '$1-$2-$3')).replaceAll('-', '');
      located(t, where, no, 'care_start', value);
      return put(rec, N.careStart, value);
    }
    case 'amount': {
      const value = `X${slice(rec, N.expense).slice(1)}`;
      located(t, where, no, 'expense', value);
      return put(rec, N.expense, value);
    }
    case 'overlong': {
      located(t, where, no, 'record', `${RECORD_LENGTH + 20} characters`);
      return `${rec}${'X'.repeat(20)}`;
    }
    case 'enum':
      located(t, where, no, 'pathway', 'X');
      return put(rec, N.pathway, 'X');
    default:
      return rec;
  }
}

