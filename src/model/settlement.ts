import { z } from 'zod';
import { MoneySchema } from './money.js';
import { IsoDateSchema } from './dates.js';

/**
 * What the engine decides for one act line (formats.md §5). Extra fields beyond the fixed ones
 * (`rule`, `formula` on parts, `inputHash`, `operation`) make every amount traceable to the rule
 * that produced it and let later stages detect a replay that changes nothing.
 */
export const SettlementStatusSchema = z.enum(['paid', 'zero', 'rejected', 'review']);
export type SettlementStatus = z.infer<typeof SettlementStatusSchema>;

/**
 * One period's share of a part, when a stay crosses a period boundary (1 January, an insurance
 * year's anniversary): the days it covers, the period, the rule applied there and its computation.
 * The slices of a part add up to its amount.
 */
export const PartSliceSchema = z.object({
  /** first and last day (a night: the date it begins) of the slice, inclusive */
  from: IsoDateSchema,
  to: IsoDateSchema,
  units: z.number().int().min(1),
  /** the calendar year, then the insurance year of each grid that counts one, e.g. "2026; RELAXEO-F1 year from 2026-03-15" */
  period: z.string(),
  amount: MoneySchema,
  rule: z.string().optional(),
  formula: z.string().optional(),
});
export type PartSlice = z.infer<typeof PartSliceSchema>;

export const SettlementPartSchema = z.object({
  /** grid id, e.g. CCN-HLA-BASE (socle) or CCN-HLA-OPT2 (surcomplémentaire) */
  contract: z.string(),
  amount: MoneySchema,
  /** id of the grid rule applied, e.g. "soins.generalistes" */
  rule: z.string().optional(),
  /** the hand computation, e.g. "min(220% × 30.00 − 21.00, 40.00 − 21.00) = 19.00" */
  formula: z.string().optional(),
  /** a stay across a period boundary: what each period paid (src/engine/stay.ts) */
  slices: z.array(PartSliceSchema).optional(),
});
export type SettlementPart = z.infer<typeof SettlementPartSchema>;

export const CounterChangeSchema = z.object({
  key: z.string(),
  before: z.string(),
  after: z.string(),
});
export type CounterChange = z.infer<typeof CounterChangeSchema>;

/**
 * Why a version was produced by a re-liquidation (a back-dated membership or reference change):
 * the event, its type and its effective date. Absent on versions decided from an input line.
 */
export const ReliquidationCauseSchema = z
  .object({
    eventId: z.string().min(1),
    type: z.string().min(1).meta({ description: 'membership event type (MEMBERSHIP_EVENT_TYPES), e.g. affiliation_end (résiliation)' }),
    effectiveDate: IsoDateSchema,
  })
  .meta({ title: 'Re-liquidation cause' });
export type ReliquidationCause = z.infer<typeof ReliquidationCauseSchema>;

export const SettlementSchema = z.object({
  lineKey: z.string(),
  beneficiary: z.object({ nir: z.string(), rang: z.number().int() }),
  adherentId: z.string().nullable(),
  careDate: IsoDateSchema,
  actCode: z.string(),
  poste: z.string().nullable(),
  status: SettlementStatusSchema,
  reason: z.string().nullable(),
  expense: MoneySchema,
  roAmount: MoneySchema,
  amcAmount: MoneySchema,
  parts: z.array(SettlementPartSchema),
  restToPay: MoneySchema,
  payee: z.string().regex(/^(member|ps:.+)$/),
  counters: z.array(CounterChangeSchema),
  version: z.number().int().min(1),
  operation: z.enum(['I', 'A']).optional(),
  tp: z.enum(['00', '05', '15', '25']).optional(),
  psId: z.string().optional(),
  /** invoice number of the care event when the source carries one; TP reconciliation compares it with the claim's */
  invoiceNo: z.string().min(1).optional(),
  /** hash of the inputs that produced this version: same hash, same settlement, nothing to publish */
  inputHash: z.string().optional(),
  /**
   * Set on a version produced by a re-liquidation request: which event made it, and its effective
   * date (statements print "régularisation suite à <type> du <date>"). Named `reliquidation`, not
   * `reason`: `reason` is the decision's own explanation, a fixed field.
   */
  reliquidation: ReliquidationCauseSchema.optional(),
});
export type Settlement = z.infer<typeof SettlementSchema>;
