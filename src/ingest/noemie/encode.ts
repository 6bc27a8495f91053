import type { ActLine } from '../../model/act-line.js';
import { NoemieEncodeError } from './errors.js';
import { centsToText, padRaw, parseSignedCents, valueToRaw } from './fields.js';
import { LAYOUT, RECORD_LENGTH, TERMINATOR, fieldSpec, type EntityCode } from './layout.js';

/**
 * ActLines → a NOEMIE-style file, streamed (used to write 1 M-line fixtures): only the current
 * décompte's running count and sum and the file's totals are kept. Consecutive lines sharing
 * (caisse, decompte_id, operation, ro_payment_date) form one décompte; a 103 (120) is written when
 * the beneficiary (professional) fields change inside it. `source` is not written: a NOEMIE file
 * only ever carries `noemie` lines.
 */
export interface NoemieFileMeta {
  /** émetteur, free text (Latin-1) */
  emitter: string;
  amcNumber: string;
  fileId: string;
  /** ISO date */
  createdOn: string;
}

type Value = string | number | boolean | null;

interface OpenDecompte {
  key: string;
  lines: number;
  total: bigint;
  beneficiary: string;
  professional: string;
}

/**
 * One record (without its newline) from raw field texts, padded to their widths; fields left out
 * are blank. No validation of the values on purpose: tests use it to build corrupted files.
 */
export function formatRecord(entity: EntityCode, fields: Readonly<Record<string, string>> = {}): string {
  const layout = LAYOUT[entity];
  for (const name of Object.keys(fields)) {
    if (!layout.fields.some((f) => f.name === name)) throw new NoemieEncodeError(`entity ${entity} has no field ${name}`, { field: name });
  }
  let out: string = entity;
  // Without a value for any optional field, the record is written as before they existed (its "@"
  // right after the required fields): files without the new fields stay byte for byte the same.
  const short = layout.fields.every((f) => !f.optional || (fields[f.name] ?? '').trim() === '');
  for (const spec of layout.fields) {
    if (short && spec.optional) continue;
    try {
      out += padRaw(spec, fields[spec.name] ?? '');
    } catch (e) {
      throw new NoemieEncodeError(`entity ${entity} field ${spec.name}: ${(e as Error).message}`, { field: spec.name });
    }
  }
  return (out + TERMINATOR).padEnd(RECORD_LENGTH, ' ');
}

// ~64 KiB per chunk: one Buffer per record would cost an allocation and a write call per 257 bytes.
const BATCH_RECORDS = 256;

export function* encodeNoemie(lines: Iterable<ActLine>, meta: NoemieFileMeta): Generator<Buffer> {
  let batch: string[] = [];
  let records = 0;
  let decomptes = 0;
  let fileTotal = 0n;
  // `as`: keeps TS from narrowing to null (close() resets it from a closure)
  let open = null as OpenDecompte | null;

  const push = (entity: EntityCode, values: Record<string, Value>): void => {
    batch.push(encodeRecord(entity, values, records + 1));
    records += 1;
  };
  const flush = (): Buffer => {
    const chunk = Buffer.from(`${batch.join('\n')}\n`, 'latin1');
    batch = [];
    return chunk;
  };
  const close = (): void => {
    if (open) push('990', { line_count: open.lines, ro_total: centsToText(open.total) });
    open = null;
  };

  push('000', { emitter: meta.emitter, amc_number: meta.amcNumber, file_id: meta.fileId, created_on: meta.createdOn });
  for (const line of lines) {
    const key = keyOf('100', line);
    if (open?.key !== key) {
      close();
      push('100', valuesOf('100', line));
      decomptes += 1;
      open = { key, lines: 0, total: 0n, beneficiary: '', professional: '' };
    }
    const beneficiary = keyOf('103', line);
    if (open.beneficiary !== beneficiary) {
      push('103', valuesOf('103', line));
      open.beneficiary = beneficiary;
    }
    const professional = keyOf('120', line);
    if (open.professional !== professional) {
      push('120', valuesOf('120', line));
      open.professional = professional;
    }
    push('255', valuesOf('255', line));
    const cents = parseSignedCents(valueToRaw(ro, line.roAmount)) ?? 0n;
    open.lines += 1;
    open.total += cents;
    fileTotal += cents;
    if (batch.length >= BATCH_RECORDS) yield flush();
  }
  close();
  push('999', { record_count: records + 1, decompte_count: decomptes, ro_total: centsToText(fileTotal) });
  yield flush();
}

const ro = fieldSpec('255', 'ro_amount');

function valuesOf(entity: EntityCode, line: ActLine): Record<string, Value> {
  const values: Record<string, Value> = {};
  for (const spec of LAYOUT[entity].fields) if (spec.actLine) values[spec.name] = line[spec.actLine] ?? null;
  return values;
}

function keyOf(entity: EntityCode, line: ActLine): string {
  return LAYOUT[entity].fields.map((spec) => (spec.actLine ? JSON.stringify(line[spec.actLine]) : '')).join(',');
}

function encodeRecord(entity: EntityCode, values: Record<string, Value>, record: number): string {
  const raw: Record<string, string> = {};
  for (const spec of LAYOUT[entity].fields) {
    const value = values[spec.name] ?? null;
    try {
      raw[spec.name] = padRaw(spec, valueToRaw(spec, value));
    } catch (e) {
      throw new NoemieEncodeError(`cannot write ${entity} ${LAYOUT[entity].name} field ${spec.name} = ${JSON.stringify(value)} at record ${record}: ${(e as Error).message}`, {
        record,
        field: spec.name,
      });
    }
  }
  return formatRecord(entity, raw);
}
