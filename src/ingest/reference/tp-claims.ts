import { TP_CLAIM_COLUMN_NAMES, TP_CLAIM_COLUMNS, TpClaimSchema, type TpClaim } from '../../model/tp-claim.js';
import type { Origin, RejectedRecord } from '../../model/issues.js';
import { readCsvTableBatches, type CsvTableEvent, type CsvTableSpec } from './csv-table.js';

/**
 * tp_claims.csv (formats.md §4), a drop of tiers-payant claims: streamed row by row (a drop of any
 * size in bounded memory), each row a validated TpClaim or a RejectedRecord naming the file, the
 * line and the column of every issue; the rest of the file goes on. A header lacking a column
 * refuses the whole file (ReferenceDataError REFERENCE_HEADER): a shifted table would be read wrong.
 * The same tp_claim_id twice is not an error here: a later row is a resend the reconciliation
 * decider treats as a new revision of the claim.
 */

/**
 * The inbox's test for a TP claims file: `tp_claims*.csv` (formats.md §4). Such a file is not a drop:
 * the inbox scanner leaves it to `noemie run`, which publishes it to `tp-claims`.
 */
export function isTpClaimsFile(name: string): boolean {
  return /^tp_claims.*\.csv$/i.test(name.slice(name.lastIndexOf('/') + 1));
}

export type TpClaimEvent = { kind: 'claim'; claim: TpClaim; origin: Origin } | { kind: 'reject'; rejected: RejectedRecord };

const FIELD_TO_COLUMN: Record<string, string> = Object.fromEntries(Object.entries(TP_CLAIM_COLUMNS).map(([column, field]) => [field, column]));

/** "19" / "19.5" / "19.50" → "19.50"; anything else is left for zod to report as it was written. */
function money(v: string | undefined): string | undefined {
  const m = v === undefined ? null : /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(v);
  return m ? `${BigInt(m[1]!).toString()}.${(m[2] ?? '').padEnd(2, '0')}` : v;
}

/** A claim's candidate from its cells by column name (absent column: undefined). */
function candidateOf(cell: (column: string) => string | undefined): unknown {
  const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  const rang = cell('rang');
  return {
    tpClaimId: cell('tp_claim_id'),
    operator: cell('operator'),
    psId: cell('ps_id'),
    nir: cell('nir'),
    rang: rang !== undefined && /^\d$/.test(rang) ? Number(rang) : rang,
    careDate: cell('care_date'),
    actCode: cell('act_code'),
    invoiceNo: orNull(cell('invoice_no')),
    amcAmountClaimed: money(cell('amc_amount_claimed')),
    paidOn: orNull(cell('paid_on')),
  };
}

const toCandidate = (c: Readonly<Record<string, string>>): unknown => candidateOf((column) => c[column]);

/** By position (the header's): the claim's candidate is the only object made for it before zod. */
const toCandidateAt = (cells: readonly string[], at: Readonly<Record<string, number>>): unknown =>
  candidateOf((column) => {
    const i = at[column];
    return i === undefined ? undefined : cells[i];
  });

export const TP_CLAIMS_TABLE: CsvTableSpec<TpClaim> = {
  columns: TP_CLAIM_COLUMN_NAMES,
  schema: TpClaimSchema,
  toCandidate,
  toCandidateAt,
  fieldToColumn: FIELD_TO_COLUMN,
};

/** `origin.record` is the 1-based line of the file (the header is line 1). */
export async function* readTpClaims(file: string): AsyncGenerator<TpClaimEvent> {
  for await (const events of readTpClaimBatches(file)) yield* events;
}

/** `readTpClaims`'s events a batch at a time (csv-table.ts `readCsvTableBatches`). */
export async function* readTpClaimBatches(file: string): AsyncGenerator<TpClaimEvent[]> {
  const claimOf = (ev: CsvTableEvent<TpClaim>): TpClaimEvent => (ev.kind === 'row' ? { kind: 'claim', claim: ev.row, origin: { file, record: ev.record } } : ev);
  for await (const events of readCsvTableBatches(file, TP_CLAIMS_TABLE)) yield events.map(claimOf);
}
