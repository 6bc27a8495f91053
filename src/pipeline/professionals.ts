import { z } from 'zod';
import { loadCsvTable, type CsvTableSpec } from '../ingest/reference/csv-table.js';
import type { RejectedRecord } from '../model/issues.js';
import type { PayeeAccount } from '../model/payment.js';

/**
 * professionals.csv (`ps_id;name;iban;bic`): where professionals paid in tiers payant receive their
 * money. formats.md has no such reference file; this is the smallest one that does the job
 * (schemas/professionals.csv.schema.json). IBAN/BIC validity is checked by the payment run
 * (ibantools), which blocks the payee with a reason rather than refusing the whole file here.
 */
export const ProfessionalRowSchema = z
  .object({
    psId: z.string().min(1).max(20),
    name: z.string().min(1).max(140),
    iban: z.string().min(1).max(34),
    bic: z.string().min(8).max(11).nullable(),
  })
  .meta({ title: 'professionals.csv row', description: '`;` separated, UTF-8, header ps_id;name;iban;bic; empty bic = none' });
type ProfessionalRow = z.infer<typeof ProfessionalRowSchema>;

const COLUMNS = ['ps_id', 'name', 'iban', 'bic'] as const;

const TABLE: CsvTableSpec<ProfessionalRow> = {
  columns: COLUMNS,
  schema: ProfessionalRowSchema,
  toCandidate: (c) => ({ psId: c.ps_id, name: c.name, iban: c.iban?.replace(/\s/g, ''), bic: c.bic === undefined || c.bic === '' ? null : c.bic }),
  fieldToColumn: { psId: 'ps_id', name: 'name', iban: 'iban', bic: 'bic' },
};

export async function loadProfessionals(file: string): Promise<{ accounts: Record<string, PayeeAccount>; rejected: RejectedRecord[] }> {
  const table = await loadCsvTable(file, TABLE);
  const accounts: Record<string, PayeeAccount> = {};
  for (const { row } of table.rows) accounts[row.psId] = { iban: row.iban, bic: row.bic, name: row.name };
  return { accounts, rejected: table.rejected };
}
