import { MoneySchema } from '../../model/money.js';
import { PmssRowSchema, type PmssRow, type PmssTable } from '../../model/reference.js';
import type { RejectedRecord } from '../../model/issues.js';
import { loadCsvTable, throwIfRejected, type CsvTableSpec } from './csv-table.js';

/** pmss.csv (`year;pmss`, formats.md §3) → year → PMSS of 1 January (domain.md). */

export const PMSS_TABLE: CsvTableSpec<PmssRow> = {
  columns: ['year', 'pmss'],
  schema: PmssRowSchema.extend({ pmss: MoneySchema.refine((v) => !v.startsWith('-') && v !== '0.00', 'the PMSS is a positive amount') }),
  toCandidate: (c) => ({
    year: c.year !== undefined && /^\d{4}$/.test(c.year) ? Number(c.year) : c.year,
    // "3925" and "3925.0" are the same amount; the table keeps Money strings ("3925.00").
    pmss: c.pmss !== undefined && /^\d+(\.\d{1,2})?$/.test(c.pmss) ? normalise(c.pmss) : c.pmss,
  }),
};

function normalise(v: string): string {
  const [int = '0', frac = ''] = v.split('.');
  return `${BigInt(int).toString()}.${frac.padEnd(2, '0')}`;
}

/** Strict: any bad or repeated year refuses the table (a wrong PMSS silently changes % PMSS forfaits). */
export async function loadPmss(file: string): Promise<PmssTable> {
  const table = await loadCsvTable(file, PMSS_TABLE);
  const result: Record<number, string> = {};
  const firstLine = new Map<number, number>();
  const rejected: RejectedRecord[] = [...table.rejected];
  for (const { row, record } of table.rows) {
    const first = firstLine.get(row.year);
    if (first !== undefined) {
      rejected.push({ origin: { file, record }, issues: [{ code: 'duplicate', path: ['year'], input: row.year, message: `year ${row.year} already given on line ${first}` }] });
      continue;
    }
    firstLine.set(row.year, record);
    result[row.year] = row.pmss;
  }
  rejected.sort((a, b) => a.origin.record - b.origin.record);
  throwIfRejected(file, rejected);
  return Object.freeze(result);
}
