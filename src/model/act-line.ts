import { z } from 'zod';
import { DecimalStringSchema, MoneySchema } from './money.js';
import { IsoDateSchema } from './dates.js';

/**
 * The act line: one line of what the RO reimbursed (NOEMIE décompte) or of a member's invoice
 * (hors NOEMIE), validated, in one shape whatever the encoding it came from. Field names are the
 * formats.md §1b columns in camelCase (the XML attribute names). Amounts are Money strings.
 */

/**
 * A NIR: 13 characters, all digits except the département of birth of people born in Corsica,
 * `2A` or `2B` (positions 6-7). One pattern for every encoding, reference file and check.
 */
export const NIR_PATTERN = /^\d{5}(?:\d{2}|2[AB])\d{6}$/;
export const NirSchema = z.string().regex(NIR_PATTERN, 'NIR must be 13 digits (département 2A or 2B for Corsica)');
export const NirKeySchema = z.string().regex(/^\d{2}$/, 'NIR key must be 2 digits');

/**
 * A FINESS number (the establishment where the care was given, as NOEMIE carries it): 9
 * characters, the département in the first two (`2A`/`2B` for Corsica, like the NIR), 6 digits of
 * sequence, 1 check digit. The check digit is not verified: its algorithm is not in our sources.
 */
export const FINESS_PATTERN = /^(?:\d{2}|2[AB])\d{7}$/;
export const FinessSchema = z.string().regex(FINESS_PATTERN, 'FINESS must be 9 characters: 9 digits, or 2A/2B (Corsica) then 7 digits');

/**
 * NIR control key = 97 − (NIR mod 97). For Corsica the letters are replaced before computing:
 * 2A → 19, 2B → 18 (the number read with 2A as 20 minus 1 000 000, 2B minus 2 000 000).
 * BigInt: a 13-digit NIR is above 2^32 and we keep integer maths exact.
 */
export function nirKey(nir: string): string {
  const digits = nir.slice(5, 7) === '2A' ? `${nir.slice(0, 5)}19${nir.slice(7)}` : nir.slice(5, 7) === '2B' ? `${nir.slice(0, 5)}18${nir.slice(7)}` : nir;
  const key = 97n - (BigInt(digits) % 97n);
  return key.toString().padStart(2, '0');
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const OperationSchema = z.enum(['I', 'A']);
export const PathwaySchema = z.enum(['I', 'H', 'U']);
export const TiersPayantSchema = z.enum(['00', '05', '15', '25']);
export const SideSchema = z.enum(['R', 'L']);
export const SourceSchema = z.enum(['noemie', 'invoice']);

export const ActLineSchema = z
  .object({
    /** `noemie` for caisse décomptes, `invoice` for hors-NOEMIE uploads */
    source: SourceSchema,
    decompteId: z.string().min(1).max(30),
    lineNo: z.number().int().min(1).max(9999),
    operation: OperationSchema,
    /** régime(2) caisse(3) centre(4); null for invoices */
    caisse: z.string().regex(/^\d{9}$/, 'caisse must be régime(2) caisse(3) centre(4), 9 digits').nullable(),
    roPaymentDate: IsoDateSchema.nullable(),
    nir: NirSchema,
    nirKey: NirKeySchema,
    rang: z.number().int().min(1).max(9),
    birthDate: IsoDateSchema.nullable(),
    amcMemberId: z.string().min(1).max(20),
    psId: z.string().min(1).max(20),
    psSpecialty: z.string().regex(/^\d{2}$/, 'specialty is a 2-digit code').nullable(),
    psDptm: z.boolean(),
    actCode: z.string().min(1).max(13),
    side: SideSchema.nullable(),
    careStart: IsoDateSchema,
    careEnd: IsoDateSchema,
    quantity: z.number().int().min(1).max(999),
    coefficient: DecimalStringSchema,
    expense: MoneySchema,
    br: MoneySchema,
    roRate: DecimalStringSchema,
    roAmount: MoneySchema,
    pf: MoneySchema,
    franchise: MoneySchema,
    pathway: PathwaySchema,
    tp: TiersPayantSchema,
    accident: z.boolean(),
    /**
     * FINESS of the establishment when the care was given during a stay (optional: absent on town
     * care and on files written before the field existed). Its presence puts the line in the
     * hospital setting (src/engine/README.md "Setting").
     */
    finess: FinessSchema.optional(),
  })
  .superRefine(
    (l, ctx) => {
      // Runs even when other fields failed (`when` below), so a reject lists all its issues: each
      // check first makes sure the fields it reads are themselves valid.
      // (Plain regex tests, not safeParse: this runs on every line of a million-line drop.)
      if (typeof l !== 'object' || l === null) return;
      const ok = (re: RegExp, v: unknown) => typeof v === 'string' && re.test(v);
      if (ok(NIR_PATTERN, l.nir) && ok(/^\d{2}$/, l.nirKey) && l.nirKey !== nirKey(l.nir)) {
        ctx.addIssue({ code: 'custom', path: ['nirKey'], input: l.nirKey, message: `NIR key ${l.nirKey} does not match the NIR (expected 97 − NIR mod 97)` });
      }
      if (ok(/^\d{4}-\d{2}-\d{2}$/, l.careStart) && ok(/^\d{4}-\d{2}-\d{2}$/, l.careEnd) && l.careEnd < l.careStart) {
        ctx.addIssue({ code: 'custom', path: ['careEnd'], input: l.careEnd, message: `care end ${l.careEnd} is before care start ${l.careStart}` });
      }
      // Each negative amount on its own field: the sender must know which one to correct.
      for (const field of ['expense', 'br', 'roAmount'] as const) {
        const a = l[field];
        if (typeof a === 'string' && a.startsWith('-')) ctx.addIssue({ code: 'custom', path: [field], input: a, message: 'amounts of an act line are positive; an annulation is operation A' });
      }
      // A person is not cared for, nor reimbursed, before being born. Judged against the record's own
      // dates (care start, RO payment date), not the clock: the same verdict on every replay.
      const born = l.birthDate;
      if (typeof born === 'string' && DATE.test(born)) {
        if (ok(DATE, l.careStart) && born > l.careStart) {
          ctx.addIssue({ code: 'custom', path: ['birthDate'], input: born, message: `birth date ${born} is after the care start ${l.careStart}` });
        } else if (typeof l.roPaymentDate === 'string' && DATE.test(l.roPaymentDate) && born > l.roPaymentDate) {
          ctx.addIssue({ code: 'custom', path: ['birthDate'], input: born, message: `birth date ${born} is after the RO payment date ${l.roPaymentDate}` });
        }
      }
    },
    { when: () => true },
  );
export type ActLine = z.infer<typeof ActLineSchema>;

/** `source:decompte_id:line_no`, stable across replays (formats.md §5). */
export function lineKeyOf(l: Pick<ActLine, 'source' | 'caisse' | 'decompteId' | 'lineNo'>): string {
  // The décompte number is unique within a caisse only, so NOEMIE keys carry the caisse.
  const source = l.source === 'noemie' ? `noemie-${l.caisse ?? 'unknown'}` : 'invoice';
  return `${source}:${l.decompteId}:${l.lineNo}`;
}

/** Partition key: all lines of one beneficiary (NIR + rang, twins share a NIR) stay together, in order. */
export function beneficiaryKey(l: Pick<ActLine, 'nir' | 'rang'>): string {
  return `${l.nir}-${l.rang}`;
}

/** CSV column (formats.md §1b) ↔ model field. The XML uses the model names. */
export const CSV_COLUMNS = {
  decompte_id: 'decompteId',
  line_no: 'lineNo',
  operation: 'operation',
  caisse: 'caisse',
  ro_payment_date: 'roPaymentDate',
  nir: 'nir',
  nir_key: 'nirKey',
  rang: 'rang',
  birth_date: 'birthDate',
  amc_member_id: 'amcMemberId',
  ps_id: 'psId',
  ps_specialty: 'psSpecialty',
  ps_dptm: 'psDptm',
  act_code: 'actCode',
  side: 'side',
  care_start: 'careStart',
  care_end: 'careEnd',
  quantity: 'quantity',
  coefficient: 'coefficient',
  expense: 'expense',
  br: 'br',
  ro_rate: 'roRate',
  ro_amount: 'roAmount',
  pf: 'pf',
  franchise: 'franchise',
  pathway: 'pathway',
  tp: 'tp',
  accident: 'accident',
} as const satisfies Record<string, keyof ActLine>;
export type CsvColumn = keyof typeof CSV_COLUMNS;
export const CSV_COLUMN_NAMES = Object.keys(CSV_COLUMNS) as CsvColumn[];

/**
 * Columns a décompte CSV may carry or leave out (added after formats.md §1b: old files stay valid).
 * `finess`: the establishment of a stay, empty or absent for town care.
 */
export const CSV_OPTIONAL_COLUMNS = {
  finess: 'finess',
} as const satisfies Record<string, keyof ActLine>;
export type CsvOptionalColumn = keyof typeof CSV_OPTIONAL_COLUMNS;
export const CSV_OPTIONAL_COLUMN_NAMES = Object.keys(CSV_OPTIONAL_COLUMNS) as CsvOptionalColumn[];

/** Model field → CSV column, to name fields in the encoding the sender used. */
export const FIELD_TO_CSV: Record<string, string> = Object.fromEntries(
  [...Object.entries(CSV_COLUMNS), ...Object.entries(CSV_OPTIONAL_COLUMNS)].map(([csv, field]) => [field, csv]),
);

/**
 * Builds an ActLine candidate from textual fields named by model field (as every encoding has them
 * once decoded): empty → null/default, Y/N → boolean, integers parsed; zod then validates.
 * Amount normalisation ("12.3" → "12.30") happens here so all encodings compare equal.
 */
export function candidateFromText(fields: Partial<Record<keyof ActLine, string | undefined>>, source: ActLine['source']): Record<string, unknown> {
  const t = (k: keyof ActLine) => {
    const v = fields[k];
    return v === undefined ? undefined : v.trim();
  };
  const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  const int = (v: string | undefined) => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : v);
  const yn = (v: string | undefined) => (v === 'Y' ? true : v === 'N' ? false : v);
  const money = (v: string | undefined) => (v !== undefined && /^-?\d+(\.\d{1,2})?$/.test(v) ? normaliseMoney(v) : v);
  const decimal = (v: string | undefined) => (v !== undefined && /^-?\d+(\.\d+)?$/.test(v) ? normaliseDecimal(v) : v);
  return {
    source,
    decompteId: t('decompteId'),
    lineNo: int(t('lineNo')),
    operation: t('operation'),
    caisse: orNull(t('caisse')),
    roPaymentDate: orNull(t('roPaymentDate')),
    nir: t('nir'),
    nirKey: t('nirKey'),
    rang: int(t('rang')),
    birthDate: orNull(t('birthDate')),
    amcMemberId: t('amcMemberId'),
    psId: t('psId'),
    psSpecialty: orNull(t('psSpecialty')),
    psDptm: yn(t('psDptm')),
    actCode: t('actCode'),
    side: orNull(t('side')),
    careStart: t('careStart'),
    careEnd: t('careEnd'),
    quantity: int(t('quantity')),
    coefficient: t('coefficient') === '' || t('coefficient') === undefined ? '1' : decimal(t('coefficient')),
    expense: money(t('expense')),
    br: money(t('br')),
    roRate: decimal(t('roRate')),
    roAmount: money(t('roAmount')),
    pf: money(t('pf')),
    franchise: money(t('franchise')),
    pathway: t('pathway'),
    tp: t('tp'),
    accident: yn(t('accident')),
    // Left out when empty, not null: a line without a FINESS is the same object (and the same
    // content hash) as before the field existed, so replays of old lines change nothing.
    ...(t('finess') ? { finess: t('finess') } : {}),
  };
}

/** An amount already in its one written form: no leading zero, two decimals. Most amounts are. */
const NORMAL_MONEY = /^-?(?:0|[1-9]\d*)\.\d{2}$/;

/** `v` (an amount, `-?\d+(\.\d{1,2})?`) written one way: "012.3" → "12.30". Exported for its test. */
export function normaliseMoney(v: string): string {
  // Three amounts a line: the test returns most of them as they are, without a split and a BigInt
  // (2.7 % of a `noemie liquidate` shard's time before; bench/README.md "Session 10 — liquidate").
  if (NORMAL_MONEY.test(v)) return v;
  const neg = v.startsWith('-');
  const [int = '0', frac = ''] = (neg ? v.slice(1) : v).split('.');
  return `${neg ? "-" : ""}${BigInt(int).toString()}.${frac.padEnd(2, "0")}`;
}

function normaliseDecimal(v: string): string {
  // "70.00" and "70" are the same rate; keep the shortest exact form.
  if (!v.includes('.')) return String(BigInt(v));
  const trimmed = v.replace(/0+$/, '').replace(/\.$/, '');
  return trimmed.startsWith('.') ? `0${trimmed}` : trimmed;
}
