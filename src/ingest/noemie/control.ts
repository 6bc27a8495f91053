import { IngestError, type IngestErrorCode } from '../types.js';
import { centsToText, parseSignedCents } from './fields.js';
import { RECORD_LENGTH, fieldSpec, type EntityCode } from './layout.js';
import { rawField, type NoemieRecord } from './records.js';

/**
 * The file-level checks of a NOEMIE-style file, record by record with running sums only (bounded
 * memory): entity order, and the 990/999 control totals. Anything wrong here refuses the whole file
 * (IngestError); record-level problems are the decoder's business.
 *
 * Counting rules (schemas/noemie-layout.md "Control totals"): every record present counts in the 999
 * record count, every 255 present in its 990 line count, malformed or not; the RO sums add the
 * ro_amount of every 255, and a 255 whose ro_amount does not read makes the control unverifiable.
 */
export interface Where {
  file: string;
  entry?: string;
}

interface OpenDecompte {
  no: number;
  id: string;
  lines: number;
  total: bigint;
  has103: boolean;
  has120: boolean;
}

const RO_AMOUNT = fieldSpec('255', 'ro_amount');
const DECOMPTE_ID = fieldSpec('100', 'decompte_id');

export class ControlTotals {
  private records = 0;
  private decomptes = 0;
  private fileTotal = 0n;
  private open: OpenDecompte | null = null;
  private ended = false;

  constructor(private readonly where: Where) {}

  accept(rec: NoemieRecord): void {
    this.records += 1;
    if (rec.no === 1) {
      if (rec.entity !== '000' || rec.issues.length > 0) {
        const why = rec.entity !== '000' ? `starts with "${rec.text.slice(0, 3)}", not a 000 file header` : (rec.issues[0]?.message ?? '');
        throw this.error('INGEST_FORMAT_MISMATCH', rec.no, `not a NOEMIE file: record 1 ${why} (${RECORD_LENGTH}-character records expected)`);
      }
      return;
    }
    if (this.ended) throw this.error('INGEST_STRUCTURE', rec.no, 'a record follows the 999 file trailer');
    switch (rec.entity) {
      case null:
        return; // unknown entity: counted, rejected at record level by the decoder
      case '000':
        throw this.error('INGEST_STRUCTURE', rec.no, 'a second 000 file header (two files concatenated?)');
      case '100':
        if (this.open) throw this.error('INGEST_STRUCTURE', rec.no, `a 100 opens a décompte while the one opened at record ${this.open.no} has no 990`);
        this.open = { no: rec.no, id: rawField(rec, DECOMPTE_ID).trim(), lines: 0, total: 0n, has103: false, has120: false };
        this.decomptes += 1;
        return;
      case '103':
      case '120': {
        const open = this.inside(rec);
        if (rec.entity === '103') open.has103 = true;
        else open.has120 = true;
        return;
      }
      case '255': {
        const open = this.inside(rec);
        if (!open.has103 || !open.has120) {
          throw this.error('INGEST_STRUCTURE', rec.no, `act line before any ${open.has103 ? '120 professional' : '103 beneficiary'} of its décompte (opened at record ${open.no})`);
        }
        const cents = parseSignedCents(rawField(rec, RO_AMOUNT));
        if (cents === null) {
          throw this.error('INGEST_CONTROL_TOTALS', rec.no, `ro_amount "${rawField(rec, RO_AMOUNT)}" does not read, the control totals cannot be verified`, 'ro_amount');
        }
        open.lines += 1;
        open.total += cents;
        this.fileTotal += cents;
        return;
      }
      case '990': {
        const open = this.inside(rec);
        const declared = this.control(rec, 'line_count', 'ro_total');
        if (declared.count !== open.lines || declared.total !== open.total) {
          throw this.error(
            'INGEST_CONTROL_TOTALS',
            rec.no,
            `990 control of décompte ${open.id} (opened at record ${open.no}) expects ${declared.count} act lines and RO total ${centsToText(declared.total)}, ` +
              `found ${open.lines} act lines and RO total ${centsToText(open.total)}`,
            undefined,
            { expected: { lines: declared.count, roTotal: centsToText(declared.total) }, found: { lines: open.lines, roTotal: centsToText(open.total) } },
          );
        }
        this.open = null;
        return;
      }
      case '999': {
        if (this.open) throw this.error('INGEST_STRUCTURE', rec.no, `the 999 trailer comes while the décompte opened at record ${this.open.no} has no 990`);
        const declared = this.control(rec, 'record_count', 'ro_total');
        const decomptes = this.readCount(rec, 'decompte_count');
        if (declared.count !== this.records || decomptes !== this.decomptes || declared.total !== this.fileTotal) {
          throw this.error(
            'INGEST_CONTROL_TOTALS',
            rec.no,
            `999 trailer expects ${declared.count} records, ${decomptes} décomptes and RO total ${centsToText(declared.total)}, ` +
              `found ${this.records} records, ${this.decomptes} décomptes and RO total ${centsToText(this.fileTotal)}`,
            undefined,
            {
              expected: { records: declared.count, decomptes, roTotal: centsToText(declared.total) },
              found: { records: this.records, decomptes: this.decomptes, roTotal: centsToText(this.fileTotal) },
            },
          );
        }
        this.ended = true;
        return;
      }
      default: {
        const unreachable: never = rec.entity;
        return unreachable;
      }
    }
  }

  /** At the end of the stream: a file without its 999 is truncated (or still being written). */
  finish(): void {
    if (this.records === 0) throw this.error('INGEST_FORMAT_MISMATCH', 0, 'not a NOEMIE file: the file is empty');
    if (!this.ended) throw this.error('INGEST_STRUCTURE', this.records, `no 999 file trailer after record ${this.records}: the file is truncated`);
  }

  private inside(rec: NoemieRecord): OpenDecompte {
    if (!this.open) throw this.error('INGEST_STRUCTURE', rec.no, `a ${rec.entity} record outside a décompte (no 100 before it since the last 990)`);
    return this.open;
  }

  private control(rec: NoemieRecord, countName: string, totalName: string): { count: number; total: bigint } {
    const entity = rec.entity as EntityCode;
    if (rec.issues.length > 0) {
      throw this.error('INGEST_CONTROL_TOTALS', rec.no, `the ${entity} control record does not read (${rec.issues.map((i) => i.message).join('; ')})`);
    }
    const raw = rawField(rec, fieldSpec(entity, totalName));
    const total = parseSignedCents(raw);
    if (total === null) throw this.error('INGEST_CONTROL_TOTALS', rec.no, `${entity} ${totalName} "${raw}" does not read`, totalName);
    return { count: this.readCount(rec, countName), total };
  }

  private readCount(rec: NoemieRecord, name: string): number {
    const entity = rec.entity as EntityCode;
    const raw = rawField(rec, fieldSpec(entity, name));
    if (!/^\d+$/.test(raw)) throw this.error('INGEST_CONTROL_TOTALS', rec.no, `${entity} ${name} "${raw}" does not read`, name);
    return Number(raw);
  }

  private error(code: IngestErrorCode, record: number, message: string, field?: string, extra: Record<string, unknown> = {}): IngestError {
    const { file, entry } = this.where;
    const at = `${file}${entry ? `!${entry}` : ''}${record > 0 ? ` record ${record}` : ''}`;
    return new IngestError(code, `${at}: ${message}`, {
      file,
      ...(entry !== undefined ? { entry } : {}),
      ...(record > 0 ? { record } : {}),
      ...(field ? { field } : {}),
      ...extra,
    });
  }
}

