import type { ActLine } from '../../model/act-line.js';

/**
 * The NOEMIE-style record layout: the ONE place where positions live. The decoder, the encoder,
 * schemas/noemie-layout.md and schemas/noemie-records.schema.json all follow from this table (a test
 * holds the two documents to it). Positions are not written by hand: each field starts where the
 * previous one ends, so widening a field moves the ones after it and cannot make two overlap.
 *
 * Built from the public NOEMIE PS layout (the RO→AMC specification is not public): one fixed record
 * length, the entity code in positions 1-3, data then an `@` terminator, space padding to the end.
 */
export const RECORD_LENGTH = 256;
export const TERMINATOR = '@';
export const ENTITY_CODE_LENGTH = 3;

export const ENTITY_CODES = ['000', '100', '103', '120', '255', '990', '999'] as const;
export type EntityCode = (typeof ENTITY_CODES)[number];

/**
 * - text: left-justified, space-padded, Latin-1 (trimmed on read)
 * - code: fixed-width identifier (digits or letters), spaces when absent
 * - int: unsigned, right-justified, zero-padded
 * - date: `YYYYMMDD`, spaces when absent (nullable fields only)
 * - amount: unsigned cents, zero-padded, then one sign character `P` (positive) or `N` (negative);
 *   `length` includes the sign
 * - decimal: unsigned, zero-padded, `scale` implied decimals (COBOL `9(n)V9(scale)`)
 * - flag: `Y` or `N`
 * - enum: one of `values`, spaces when absent (nullable fields only)
 */
export type FieldKind = 'text' | 'code' | 'int' | 'date' | 'amount' | 'decimal' | 'flag' | 'enum';

interface FieldDef {
  /** snake_case; for act-line fields, the formats.md §1b column name */
  name: string;
  length: number;
  kind: FieldKind;
  description: string;
  /** the ActLine field this fills, when it is one */
  actLine?: keyof ActLine;
  nullable?: boolean;
  scale?: number;
  values?: readonly string[];
  /**
   * A field added after the layout was first published, at the end of its record: a record may
   * stop before it (its `@` right after the last field that is not optional, as files written
   * before the field existed do). Only the last fields of an entity may be optional.
   */
  optional?: boolean;
}

export interface FieldSpec extends FieldDef {
  /** 1-based first position, as layout tables count */
  start: number;
  /** 0-based offset, for slicing */
  offset: number;
}

export interface EntityLayout {
  code: EntityCode;
  name: string;
  description: string;
  fields: readonly FieldSpec[];
  /** 1-based position of the `@` terminator, right after the last field */
  terminatorAt: number;
  /**
   * When the entity ends with optional fields: the position of the `@` of a record written without
   * them (right after the last required field); else the same as `terminatorAt`.
   */
  shortTerminatorAt: number;
}

function entity(code: EntityCode, name: string, description: string, defs: FieldDef[]): EntityLayout {
  let start = ENTITY_CODE_LENGTH + 1;
  let shortTerminatorAt: number | null = null;
  const fields = defs.map((d) => {
    if (d.optional) shortTerminatorAt ??= start;
    else if (shortTerminatorAt !== null) throw new Error(`entity ${code}: field ${d.name} comes after an optional field; optional fields close the record`);
    const f: FieldSpec = { ...d, start, offset: start - 1 };
    start += d.length;
    return f;
  });
  if (start > RECORD_LENGTH) throw new Error(`entity ${code}: fields and terminator do not fit in ${RECORD_LENGTH} positions`);
  return { code, name, description, fields, terminatorAt: start, shortTerminatorAt: shortTerminatorAt ?? start };
}

const MONEY_DIGITS = 14; // MONEY_PATTERN allows 12 integer digits + 2 decimals: every valid ActLine amount fits

export const LAYOUT: Readonly<Record<EntityCode, EntityLayout>> = {
  '000': entity('000', 'file header', 'First record of the file, once.', [
    { name: 'emitter', length: 40, kind: 'text', description: 'émetteur: the sending caisse as it names itself (free text, Latin-1)' },
    { name: 'amc_number', length: 10, kind: 'code', description: 'destinataire: the AMC organisation number' },
    { name: 'file_id', length: 20, kind: 'text', description: 'file identifier given by the émetteur' },
    { name: 'created_on', length: 8, kind: 'date', description: 'creation date of the file' },
  ]),
  '100': entity('100', 'décompte header', 'Opens a décompte; closed by its 990.', [
    { name: 'decompte_id', length: 30, kind: 'text', actLine: 'decompteId', description: 'RO décompte number (unique within the caisse)' },
    { name: 'caisse', length: 9, kind: 'code', actLine: 'caisse', description: 'régime(2) caisse(3) centre(4)' },
    { name: 'ro_payment_date', length: 8, kind: 'date', actLine: 'roPaymentDate', nullable: true, description: 'date the RO paid' },
    { name: 'operation', length: 1, kind: 'enum', actLine: 'operation', values: ['I', 'A'], description: 'I initial, A annulation' },
  ]),
  '103': entity('103', 'beneficiary', 'Applies to the 255 records that follow, until the next 103 or the end of the décompte.', [
    { name: 'nir', length: 13, kind: 'code', actLine: 'nir', description: 'NIR, 13 characters: digits, the département 2A or 2B for Corsica' },
    { name: 'nir_key', length: 2, kind: 'code', actLine: 'nirKey', description: 'NIR key, 97 − NIR mod 97 (2A/2B read as 19/18)' },
    { name: 'rang', length: 1, kind: 'int', actLine: 'rang', description: 'rang de naissance' },
    { name: 'birth_date', length: 8, kind: 'date', actLine: 'birthDate', nullable: true, description: "beneficiary's birth date" },
    { name: 'amc_member_id', length: 20, kind: 'text', actLine: 'amcMemberId', description: "the AMC's adhérent number as known by the caisse" },
  ]),
  '120': entity('120', 'executing professional', 'Applies to the 255 records that follow, until the next 120 or the end of the décompte.', [
    { name: 'ps_id', length: 20, kind: 'text', actLine: 'psId', description: 'AM number or FINESS' },
    { name: 'ps_specialty', length: 2, kind: 'code', actLine: 'psSpecialty', nullable: true, description: '2-digit specialty code' },
    { name: 'ps_dptm', length: 1, kind: 'flag', actLine: 'psDptm', description: 'Y if OPTAM/OPTAM-CO (DPTM)' },
  ]),
  '255': entity('255', 'act line', 'One act line; takes the décompte, beneficiary and professional of the latest 100, 103 and 120.', [
    { name: 'line_no', length: 4, kind: 'int', actLine: 'lineNo', description: '1..n within the décompte' },
    { name: 'act_code', length: 13, kind: 'text', actLine: 'actCode', description: 'NGAP / CCAM grouping / LPP / pharmacy code' },
    { name: 'side', length: 1, kind: 'enum', actLine: 'side', values: ['R', 'L'], nullable: true, description: 'R/L for an eye or an ear' },
    { name: 'care_start', length: 8, kind: 'date', actLine: 'careStart', description: 'first day of care' },
    { name: 'care_end', length: 8, kind: 'date', actLine: 'careEnd', description: 'last day of care' },
    { name: 'quantity', length: 3, kind: 'int', actLine: 'quantity', description: 'nights, sessions, boxes…' },
    { name: 'coefficient', length: 10, kind: 'decimal', scale: 4, actLine: 'coefficient', description: 'coefficient, 4 implied decimals (1 → 0000010000)' },
    { name: 'expense', length: MONEY_DIGITS + 1, kind: 'amount', actLine: 'expense', description: 'frais réels' },
    { name: 'br', length: MONEY_DIGITS + 1, kind: 'amount', actLine: 'br', description: 'base de remboursement' },
    { name: 'ro_rate', length: 5, kind: 'decimal', scale: 2, actLine: 'roRate', description: 'RO rate in percent, 2 implied decimals (70 → 07000)' },
    { name: 'ro_amount', length: MONEY_DIGITS + 1, kind: 'amount', actLine: 'roAmount', description: 'RO reimbursement before PF and franchise' },
    { name: 'pf', length: MONEY_DIGITS + 1, kind: 'amount', actLine: 'pf', description: 'participation forfaitaire deducted' },
    { name: 'franchise', length: MONEY_DIGITS + 1, kind: 'amount', actLine: 'franchise', description: 'franchise deducted' },
    { name: 'pathway', length: 1, kind: 'enum', actLine: 'pathway', values: ['I', 'H', 'U'], description: 'parcours de soins' },
    { name: 'tp', length: 2, kind: 'enum', actLine: 'tp', values: ['00', '05', '15', '25'], description: 'destinataire du règlement' },
    { name: 'accident', length: 1, kind: 'flag', actLine: 'accident', description: 'Y if the care follows an accident' },
    {
      name: 'finess',
      length: 9,
      kind: 'code',
      actLine: 'finess',
      nullable: true,
      optional: true,
      description: 'FINESS of the establishment when the care was given during a stay (9 characters; 2A/2B for Corsica); optional: a record may end with its "@" right after accident',
    },
  ]),
  '990': entity('990', 'décompte control', 'Closes the décompte opened by the latest 100.', [
    { name: 'line_count', length: 6, kind: 'int', description: 'number of 255 records in the décompte' },
    { name: 'ro_total', length: 17, kind: 'amount', description: 'sum of the ro_amount of those 255 records' },
  ]),
  '999': entity('999', 'file trailer', 'Last record of the file, once.', [
    { name: 'record_count', length: 10, kind: 'int', description: 'records in the file, 000 and 999 included' },
    { name: 'decompte_count', length: 8, kind: 'int', description: 'number of 100 records' },
    { name: 'ro_total', length: 19, kind: 'amount', description: 'sum of the ro_amount of every 255 record' },
  ]),
};

export function isEntityCode(code: string): code is EntityCode {
  return (ENTITY_CODES as readonly string[]).includes(code);
}

export function fieldSpec(code: EntityCode, name: string): FieldSpec {
  const f = LAYOUT[code].fields.find((x) => x.name === name);
  if (!f) throw new Error(`entity ${code} has no field ${name}`);
  return f;
}

/** Which entity carries each ActLine field, to tell the reader which record a bad value came from. */
export const ACT_LINE_FIELD_ENTITY: Readonly<Partial<Record<keyof ActLine, EntityCode>>> = Object.fromEntries(
  ENTITY_CODES.flatMap((code) => LAYOUT[code].fields.filter((f) => f.actLine).map((f) => [f.actLine, code])),
);
