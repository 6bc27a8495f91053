import { parse } from 'csv-parse/sync';
import type { GridSet } from '../../model/grid.js';
import type { RejectedRecord } from '../../model/issues.js';
import { NOMENCLATURE_COLUMNS, NomenclatureEntrySchema, type Nomenclature, type NomenclatureEntry } from '../../model/nomenclature.js';
import { fromZodIssues } from '../../model/issues.js';
import { ReferenceDataError, loadCsvTable, throwIfRejected, type CsvTableSpec } from './csv-table.js';

/**
 * fixtures/nomenclature.csv (formats.md §3) → act code → poste. Strict: one bad row or a repeated
 * act code refuses the table, the error naming file, line and column (an act silently missing
 * would send its lines to review; a wrong poste would pay them under the wrong guarantee).
 */

export type { Nomenclature, NomenclatureEntry };

const FIELD_TO_COLUMN: Record<string, string> = {
  actCode: 'act_code', hospitalPoste: 'hospital_poste', roReimbursed: 'ro_reimbursed', roRate: 'ro_rate',
  maxUnitExpense: 'max_unit_expense', maxUnitBr: 'max_unit_br', maxQuantity: 'max_quantity', maxCoefficient: 'max_coefficient',
};

/** An optional column: absent or empty → null (the family default). */
const optional = (v: string | undefined) => (v === undefined || v === '' ? null : v);

/** `k=v|k=v` → record; a malformed pair is kept under its raw text so the schema names it. */
function attributes(text: string | undefined): Record<string, string> | string | undefined {
  if (text === undefined || text === '') return {};
  const out: Record<string, string> = {};
  for (const pair of text.split('|')) {
    const at = pair.indexOf('=');
    if (at <= 0) return text;
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

export const NOMENCLATURE_TABLE: CsvTableSpec<NomenclatureEntry> = {
  columns: NOMENCLATURE_COLUMNS,
  schema: NomenclatureEntrySchema,
  toCandidate: (c) => ({
    actCode: c.act_code,
    label: c.label,
    poste: c.poste,
    hospitalPoste: c.hospital_poste === '' ? null : c.hospital_poste,
    roReimbursed: c.ro_reimbursed === 'Y' ? true : c.ro_reimbursed === 'N' ? false : c.ro_reimbursed,
    roRate: c.ro_rate,
    unit: c.unit,
    attributes: attributes(c.attributes),
    maxUnitExpense: optional(c.max_unit_expense),
    maxUnitBr: optional(c.max_unit_br),
    maxQuantity: ((v) => (v !== null && /^\d+$/.test(v) ? Number(v) : v))(optional(c.max_quantity)),
    maxCoefficient: optional(c.max_coefficient),
  }),
  fieldToColumn: FIELD_TO_COLUMN,
};

function index(file: string, rows: readonly { row: NomenclatureEntry; record: number }[], rejected: RejectedRecord[]): Nomenclature {
  const result: Record<string, NomenclatureEntry> = {};
  const firstLine = new Map<string, number>();
  for (const { row, record } of rows) {
    const first = firstLine.get(row.actCode);
    if (first !== undefined) {
      rejected.push({ origin: { file, record }, issues: [{ code: 'duplicate', path: ['act_code'], input: row.actCode, message: `act code ${row.actCode} already mapped on line ${first}` }] });
      continue;
    }
    firstLine.set(row.actCode, record);
    result[row.actCode] = row;
  }
  rejected.sort((a, b) => a.origin.record - b.origin.record);
  throwIfRejected(file, rejected);
  return Object.freeze(result);
}

export async function loadNomenclature(file: string): Promise<Nomenclature> {
  const table = await loadCsvTable(file, NOMENCLATURE_TABLE);
  return index(file, table.rows, [...table.rejected]);
}

/** The same from text already in memory (a small table: tests, quotes); `file` names it in errors. */
export function parseNomenclature(text: string, file = 'nomenclature.csv'): Nomenclature {
  const records = parse(text, { delimiter: ';', bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  const [header, ...body] = records;
  const missing = NOMENCLATURE_COLUMNS.filter((c) => !header?.includes(c));
  if (!header || missing.length > 0) throw new ReferenceDataError('REFERENCE_HEADER', `${file}: header lacks column(s) ${missing.join(', ')}`, { file, record: 1 });
  const rows: { row: NomenclatureEntry; record: number }[] = [];
  const rejected: RejectedRecord[] = [];
  body.forEach((cells, i) => {
    const byName: Record<string, string> = {};
    header.forEach((name, j) => (byName[name] = (cells[j] ?? '').trim()));
    const parsed = NomenclatureEntrySchema.safeParse(NOMENCLATURE_TABLE.toCandidate(byName));
    // Line numbers assume one physical line per record (no quoted newlines in this table).
    if (parsed.success) rows.push({ row: parsed.data, record: i + 2 });
    else rejected.push({ origin: { file, record: i + 2 }, issues: fromZodIssues(parsed.error.issues, (p) => p.map((x) => (typeof x === 'number' ? x : FIELD_TO_COLUMN[String(x)] ?? String(x)))) });
  });
  return index(file, rows, rejected);
}

/** Grid postes no act code maps to: a typo in a grid, or a poste waiting for its codes. */
export function unmappedPostes(grids: GridSet, nomenclature: Nomenclature): { grid: string; rule: string; poste: string }[] {
  const known = new Set<string>();
  for (const e of Object.values(nomenclature)) {
    known.add(e.poste);
    if (e.hospitalPoste !== null) known.add(e.hospitalPoste);
  }
  return Object.values(grids).flatMap((g) => g.rules.filter((r) => !known.has(r.poste)).map((r) => ({ grid: g.id, rule: r.id, poste: r.poste })));
}
