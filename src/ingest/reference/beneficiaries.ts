import { electronicFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
import { z } from 'zod';
import { NIR_PATTERN, nirKey } from '../../model/act-line.js';
import { isRealDate } from '../../model/dates.js';
import type { RejectedRecord } from '../../model/issues.js';
import { BeneficiarySchema, SuspensionSchema, type Beneficiary } from '../../model/reference.js';
import { loadCsvTable, throwIfRejected, type CsvTableSpec } from './csv-table.js';

/**
 * beneficiaries.csv (formats.md §3) → validated Beneficiary rows and an index by NIR + rang (how a
 * décompte line names its person; twins share a NIR) and by adhérent (the family, whose payments go
 * to the adhérent's IBAN). IBAN/BIC are checked with `ibantools` (ISO 13616 mod-97 plus the
 * country's BBAN length and format) and kept in electronic format (no spaces, upper case).
 */

export const BENEFICIARY_COLUMNS = [
  'adherent_id', 'nir', 'nir_key', 'rang', 'birth_date', 'role', 'contracts', 'start', 'end', 'suspended', 'noemie', 'iban', 'bic', 'name',
] as const;

const FIELD_TO_COLUMN: Record<string, string> = {
  adherentId: 'adherent_id', nirKey: 'nir_key', birthDate: 'birth_date',
};

const ISO = /^\d{4}-\d{2}-\d{2}$/;
const isDate = (v: unknown): v is string => typeof v === 'string' && ISO.test(v) && isRealDate(v);

const PeriodSchema = z
  .string()
  .transform((text, ctx) => {
    const m = /^(.*)\.\.(.*)$/.exec(text);
    if (!m) {
      ctx.addIssue({ code: 'custom', input: text, message: 'expected a period YYYY-MM-DD..YYYY-MM-DD' });
      return z.NEVER;
    }
    return { from: m[1] ?? '', to: m[2] ?? '' };
  })
  .pipe(SuspensionSchema);

export const IbanSchema = z
  .string()
  .transform((text) => electronicFormatIBAN(text) ?? text)
  .refine((iban) => isValidIBAN(iban), 'not a valid IBAN (country length/format or mod-97 check digits)')
  .nullable();

export const BicSchema = z.string().refine((bic) => isValidBIC(bic), 'not a valid BIC (8 or 11 characters)').nullable();

/** The model schema plus the text forms of the file (periods) and the checks that need several fields. */
export const BeneficiaryRowSchema = BeneficiarySchema.extend({
  suspended: z.array(PeriodSchema),
  iban: IbanSchema,
  bic: BicSchema,
}).superRefine(
  (b, ctx) => {
    // `when: always` so these run even when another field failed: a rejected row lists all its issues.
    // Each check therefore looks at its inputs' shape before trusting them.
    if (typeof b.nir === 'string' && NIR_PATTERN.test(b.nir) && typeof b.nirKey === 'string' && /^\d{2}$/.test(b.nirKey) && b.nirKey !== nirKey(b.nir)) {
      ctx.addIssue({ code: 'custom', path: ['nirKey'], input: b.nirKey, message: `NIR key ${b.nirKey} does not match the NIR (expected 97 − NIR mod 97)` });
    }
    // Affiliated before being born: a typo in either date (the record's own start, not the clock, judges it).
    if (isDate(b.birthDate) && isDate(b.start) && b.birthDate > b.start) {
      ctx.addIssue({ code: 'custom', path: ['birthDate'], input: b.birthDate, message: `birth date ${b.birthDate} is after the affiliation start ${b.start}` });
    }
    if (isDate(b.start) && isDate(b.end) && b.end < b.start) {
      ctx.addIssue({ code: 'custom', path: ['end'], input: b.end, message: `affiliation end ${b.end} is before its start ${b.start}` });
    }
    if (Array.isArray(b.suspended)) {
      b.suspended.forEach((p, i) => {
        if (p && isDate(p.from) && isDate(p.to) && p.to < p.from) {
          ctx.addIssue({ code: 'custom', path: ['suspended', i], input: `${p.from}..${p.to}`, message: 'suspension ends before it starts' });
        }
      });
    }
  },
  { when: () => true },
);

function toCandidate(c: Readonly<Record<string, string>>): unknown {
  const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : v);
  const list = (v: string | undefined) => (v === undefined || v === '' ? [] : v.split('|').map((s) => s.trim()));
  return {
    adherentId: c.adherent_id,
    nir: c.nir,
    nirKey: c.nir_key,
    rang: int(c.rang),
    birthDate: c.birth_date,
    role: c.role,
    contracts: list(c.contracts),
    start: c.start,
    end: orNull(c.end),
    suspended: list(c.suspended),
    noemie: c.noemie === 'Y' ? true : c.noemie === 'N' ? false : c.noemie,
    iban: orNull(c.iban),
    bic: orNull(c.bic),
    name: c.name,
  };
}

export const BENEFICIARIES_TABLE: CsvTableSpec<Beneficiary> = {
  columns: BENEFICIARY_COLUMNS,
  schema: BeneficiaryRowSchema,
  toCandidate,
  fieldToColumn: FIELD_TO_COLUMN,
};

export interface BeneficiaryIndex {
  readonly size: number;
  /** the person a décompte line names */
  byNirRang(nir: string, rang: number): Beneficiary | undefined;
  /** `byNirRang(nir, rang)?.adherentId` without making the person: what keying a line needs (its family, keys.ts) */
  adherentOf(nir: string, rang: number): string | undefined;
  /** the family, in file order */
  byAdherent(adherentId: string): readonly Beneficiary[];
  /** the adhérent's own row (role A): whose IBAN the family's payments go to */
  holder(adherentId: string): Beneficiary | undefined;
  all(): Iterable<Beneficiary>;
}

export function indexBeneficiaries(rows: Iterable<Beneficiary>): BeneficiaryIndex {
  const byPerson = new Map<string, Beneficiary>();
  const byFamily = new Map<string, Beneficiary[]>();
  for (const b of rows) {
    byPerson.set(`${b.nir}-${b.rang}`, b);
    const family = byFamily.get(b.adherentId);
    if (family) family.push(b);
    else byFamily.set(b.adherentId, [b]);
  }
  return {
    size: byPerson.size,
    byNirRang: (nir, rang) => byPerson.get(`${nir}-${rang}`),
    adherentOf: (nir, rang) => byPerson.get(`${nir}-${rang}`)?.adherentId,
    byAdherent: (id) => byFamily.get(id) ?? [],
    holder: (id) => byFamily.get(id)?.find((b) => b.role === 'A'),
    all: () => byPerson.values(),
  };
}

export interface LoadedBeneficiaries {
  index: BeneficiaryIndex;
  rejected: RejectedRecord[];
}

/**
 * Loads and indexes beneficiaries.csv. Strict by default: one bad row refuses the file with a
 * ReferenceDataError listing file, line, column and reason of every issue — a half-loaded member
 * file would turn covered people into "unknown beneficiary". `{ strict: false }` keeps the good rows
 * and returns the rejected ones. A second row for the same NIR + rang is rejected (`duplicate`).
 */
export async function loadBeneficiaries(file: string, options: { strict?: boolean } = {}): Promise<LoadedBeneficiaries> {
  const table = await loadCsvTable(file, BENEFICIARIES_TABLE);
  const seen = new Map<string, number>();
  const kept: Beneficiary[] = [];
  const rejected = [...table.rejected];
  for (const { row, record } of table.rows) {
    const key = `${row.nir}-${row.rang}`;
    const first = seen.get(key);
    if (first !== undefined) {
      rejected.push({
        origin: { file, record },
        issues: [{ code: 'duplicate', path: ['nir'], input: row.nir, message: `same NIR and rang ${row.rang} as line ${first}` }],
      });
      continue;
    }
    seen.set(key, record);
    kept.push(row);
  }
  rejected.sort((a, b) => a.origin.record - b.origin.record);
  if (options.strict ?? true) throwIfRejected(file, rejected);
  return { index: indexBeneficiaries(kept), rejected };
}
