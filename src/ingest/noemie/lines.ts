import { ActLineSchema, FIELD_TO_CSV, candidateFromText, type ActLine } from '../../model/act-line.js';
import type { Origin, RecordIssue } from '../../model/issues.js';
import type { IngestEvent } from '../types.js';
import type { Where } from './control.js';
import { amountMessage, fieldText, parseSignedCents } from './fields.js';
import { ACT_LINE_FIELD_ENTITY, LAYOUT, type EntityCode } from './layout.js';
import { rawField, type NoemieRecord } from './records.js';

/**
 * Pass 2 of the decoder: records → events. A 255 takes its décompte, beneficiary and professional
 * fields from the latest 100, 103 and 120 (the control pass has made sure they exist). A context
 * record that was itself rejected poisons the lines that depend on it: they are rejected too,
 * rather than silently taking the previous beneficiary's identity.
 */
type TextFields = Partial<Record<keyof ActLine, string>>;

interface Context {
  entity: EntityCode;
  no: number;
  values: TextFields;
  rejected: boolean;
}

export class LineBuilder {
  private decompte: Context | null = null;
  private beneficiary: Context | null = null;
  private professional: Context | null = null;
  /** the three contexts' fields merged once, not once per act line */
  private merged: TextFields | null = null;

  constructor(private readonly where: Where) {}

  accept(rec: NoemieRecord): IngestEvent | null {
    if (rec.entity !== '255') this.merged = null;
    switch (rec.entity) {
      case null:
        return this.reject(rec, rec.issues);
      case '000':
      case '990':
      case '999':
        return null; // the control pass refused the file if one of these was malformed
      case '100':
        this.decompte = this.context(rec);
        this.beneficiary = null;
        this.professional = null;
        return rec.issues.length > 0 ? this.reject(rec, rec.issues) : null;
      case '103':
        this.beneficiary = this.context(rec);
        return rec.issues.length > 0 ? this.reject(rec, rec.issues) : null;
      case '120':
        this.professional = this.context(rec);
        return rec.issues.length > 0 ? this.reject(rec, rec.issues) : null;
      case '255':
        return this.line(rec);
      default: {
        const unreachable: never = rec.entity;
        return unreachable;
      }
    }
  }

  private line(rec: NoemieRecord): IngestEvent {
    const { decompte, beneficiary, professional } = this;
    if (!decompte || !beneficiary || !professional) throw new Error(`record ${rec.no}: act line without context; the control pass should have refused the file`);
    const own = readFields(rec);
    const issues = [...rec.issues, ...own.issues];
    for (const ctx of [decompte, beneficiary, professional]) {
      if (ctx.rejected) {
        issues.push({ code: 'context_rejected', path: [], input: ctx.no, message: `the ${ctx.entity} ${LAYOUT[ctx.entity].name} record ${ctx.no} this act line depends on was rejected` });
      }
    }
    this.merged ??= Object.assign({}, decompte.values, beneficiary.values, professional.values);
    // Object.assign, not spread: measured about twice as fast here on these dynamically built objects
    const candidate = candidateFromText(Object.assign({}, this.merged, own.values), 'noemie');
    const parsed = ActLineSchema.safeParse(candidate, { reportInput: true });
    if (parsed.success && issues.length === 0) return { kind: 'line', line: parsed.data, origin: this.origin(rec.no) };
    if (!parsed.success) {
      const already = new Set(own.issues.map((i) => i.path[0]));
      for (const z of parsed.error.issues) {
        const field = String(z.path[0] ?? '');
        const name = FIELD_TO_CSV[field] ?? field;
        if (already.has(name)) continue;
        const from = ACT_LINE_FIELD_ENTITY[field as keyof ActLine];
        const ctx = from === '100' ? decompte : from === '103' ? beneficiary : from === '120' ? professional : null;
        if (ctx?.rejected) continue; // its own reject already says what is wrong with it
        issues.push({
          code: z.code,
          path: [name, ...z.path.slice(1).map((p) => (typeof p === 'number' ? p : String(p)))],
          input: z.input,
          message: ctx ? `${z.message} (from the ${ctx.entity} record ${ctx.no})` : z.message,
        });
      }
    }
    return this.reject(rec, issues);
  }

  private context(rec: NoemieRecord): Context {
    const entity = rec.entity as EntityCode;
    return { entity, no: rec.no, values: readFields(rec).values, rejected: rec.issues.length > 0 };
  }

  private reject(rec: NoemieRecord, issues: RecordIssue[]): IngestEvent {
    // trailing padding carries nothing and would only widen the quarantine report
    return { kind: 'reject', rejected: { origin: this.origin(rec.no), issues, raw: rec.text.trimEnd() } };
  }

  private origin(record: number): Origin {
    return { file: this.where.file, ...(this.where.entry !== undefined ? { entry: this.where.entry } : {}), record };
  }
}

/** The act-line fields a record carries, as text for `candidateFromText`, and the amounts that do not read. */
function readFields(rec: NoemieRecord): { values: TextFields; issues: RecordIssue[] } {
  const values: TextFields = {};
  const issues: RecordIssue[] = [];
  for (const spec of LAYOUT[rec.entity as EntityCode].fields) {
    if (!spec.actLine || (spec.optional && rec.short)) continue;
    const raw = rawField(rec, spec);
    if (spec.kind === 'amount' && parseSignedCents(raw) === null) {
      issues.push({ code: 'bad_amount', path: [spec.name], input: raw, message: amountMessage(spec, raw) });
    }
    values[spec.actLine] = fieldText(spec, raw);
  }
  return { values, issues };
}
