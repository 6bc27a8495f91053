import { z } from 'zod';
import { IsoDateSchema } from './dates.js';
import { NirSchema, NirKeySchema } from './act-line.js';
import { MoneySchema } from './money.js';

/** beneficiaries.csv (formats.md §3), one row per covered person; the family shares the adhérent's IBAN. */
export const SuspensionSchema = z.object({ from: IsoDateSchema, to: IsoDateSchema });

export const BeneficiarySchema = z.object({
  adherentId: z.string().min(1).max(20),
  nir: NirSchema,
  nirKey: NirKeySchema,
  rang: z.number().int().min(1).max(9),
  birthDate: IsoDateSchema,
  /** A adhérent, C spouse/partner, E child */
  role: z.enum(['A', 'C', 'E']),
  /** grid ids, socle first, then the surcomplémentaire if any */
  contracts: z.array(z.string().min(1)).min(1),
  start: IsoDateSchema,
  end: IsoDateSchema.nullable(),
  suspended: z.array(SuspensionSchema),
  noemie: z.boolean(),
  iban: z.string().nullable(),
  bic: z.string().nullable(),
  name: z.string(),
  /**
   * The contract levels over time, oldest first, `to` = last day covered (inclusive), null = open
   * (issue 10: filled by the membership store when a level changed). When present, the level in
   * force on the date of care is the period containing it; `contracts` is the latest period's.
   */
  contractPeriods: z.array(z.object({ from: IsoDateSchema, to: IsoDateSchema.nullable(), contracts: z.array(z.string().min(1)).min(1) })).optional(),
  /** A child's proofs on file (studies 18–26, disability beyond); absent = proof assumed (today's reading). */
  proofs: z.array(z.object({ kind: z.enum(['studies', 'disability']), from: IsoDateSchema, to: IsoDateSchema.nullable() })).optional(),
});
export type Beneficiary = z.infer<typeof BeneficiarySchema>;

export const PmssRowSchema = z.object({ year: z.number().int().min(2000).max(2100), pmss: MoneySchema });
export type PmssRow = z.infer<typeof PmssRowSchema>;
/** year → PMSS of 1 January of that year */
export type PmssTable = Readonly<Record<number, string>>;
