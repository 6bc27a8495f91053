import { z } from 'zod';
import { IsoDateSchema } from './dates.js';
import { MoneySchema } from './money.js';
import { NIR_PATTERN, NirSchema } from './act-line.js';

/**
 * A tiers-payant claim (formats.md §4): a professional, through a TP operator, asks the AMC to pay
 * it for one care event. The model (and the tp-claims topic) uses camelCase; the file uses the
 * fixed snake_case columns of `tp_claims.csv`, mapped by TP_CLAIM_COLUMNS.
 */
export const TpClaimSchema = z
  .object({
    tpClaimId: z.string().min(1).max(40).meta({ description: 'tp_claim_id: unique per operator claim; a resend with the same id replaces the previous content' }),
    operator: z.string().min(1).max(40).meta({ description: 'TP operator that sent the claim' }),
    psId: z.string().min(1).max(20).meta({ description: 'executing professional (AM number or FINESS), as on the NOEMIE line' }),
    nir: NirSchema,
    rang: z.number().int().min(1).max(9).meta({ description: 'rang de naissance (twins share a NIR)' }),
    careDate: IsoDateSchema,
    actCode: z.string().min(1).max(13),
    invoiceNo: z.string().min(1).max(30).nullable().meta({ description: 'invoice number; compared with the line when both carry one' }),
    amcAmountClaimed: MoneySchema.refine((m) => !m.startsWith('-'), 'a claimed amount is not negative'),
    paidOn: IsoDateSchema.nullable().meta({
      description: 'date the operator paid the professional on the AMC’s behalf; null: not paid yet, the AMC pays once the claim is matched',
    }),
  })
  .meta({ title: 'Tiers-payant claim', description: 'tp-claims topic value: one claim of tp_claims.csv (formats.md §4), fields in camelCase.' });
export type TpClaim = z.infer<typeof TpClaimSchema>;

/** tp_claims.csv column → model field. */
export const TP_CLAIM_COLUMNS = {
  tp_claim_id: 'tpClaimId',
  operator: 'operator',
  ps_id: 'psId',
  nir: 'nir',
  rang: 'rang',
  care_date: 'careDate',
  act_code: 'actCode',
  invoice_no: 'invoiceNo',
  amc_amount_claimed: 'amcAmountClaimed',
  paid_on: 'paidOn',
} as const satisfies Record<string, keyof TpClaim>;
export const TP_CLAIM_COLUMN_NAMES = Object.keys(TP_CLAIM_COLUMNS) as (keyof typeof TP_CLAIM_COLUMNS)[];

/**
 * One row of tp_claims.csv as text, for the published layout (schemas/tp_claims.csv.schema.json):
 * `;` separated, UTF-8, header row, decimal point, ISO dates, empty cell for "none".
 */
export const TpClaimCsvRowSchema = z
  .object({
    tp_claim_id: z.string().min(1).max(40),
    operator: z.string().min(1).max(40),
    ps_id: z.string().min(1).max(20),
    nir: z.string().regex(NIR_PATTERN).meta({ description: '13 characters, no key: digits, the département 2A or 2B for Corsica' }),
    rang: z.string().regex(/^[1-9]$/),
    care_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    act_code: z.string().min(1).max(13),
    invoice_no: z.string().max(30).meta({ description: 'may be empty' }),
    amc_amount_claimed: z.string().regex(/^\d{1,12}(\.\d{1,2})?$/).meta({ description: 'euros, decimal point, e.g. 19.00' }),
    paid_on: z.string().regex(/^(\d{4}-\d{2}-\d{2})?$/).meta({ description: 'empty when not yet paid' }),
  })
  .meta({
    title: 'tp_claims.csv row',
    description: 'formats.md §4. `;` separated, UTF-8 (BOM tolerated), header row with these column names, one claim per row; empty cell = none.',
  });

/**
 * Tiers payant on the AMC part (tp 15: RO + AMC, tp 25: AMC only), or a professional payee: the
 * professional is paid once a claim confirms the line, and the member never is (domain.md §1, §4).
 */
export function isTiersPayantLine(s: { tp?: string | undefined; payee: string }): boolean {
  return s.tp === '15' || s.tp === '25' || s.payee.startsWith('ps:');
}
