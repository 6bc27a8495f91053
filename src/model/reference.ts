import { z } from 'zod';
import { IsoDateSchema } from './dates.js';
import { NirSchema, NirKeySchema } from './act-line.js';
import { MoneySchema } from './money.js';

/** beneficiaries.csv (formats.md §3), one row per covered person; the family shares the adhérent's IBAN. */
export const SuspensionSchema = z.object({ from: IsoDateSchema, to: IsoDateSchema });

/**
 * One stretch of a beneficiary's contract levels (issue 10): `to` is the last day covered
 * (inclusive), null while open. The level in force on a date of care is the period containing it.
 */
export const ContractPeriodSchema = z.object({
  from: IsoDateSchema,
  to: IsoDateSchema.nullable(),
  /** grid ids, socle first, then the surcomplémentaire if any */
  contracts: z.array(z.string().min(1)).min(1),
});
export type ContractPeriod = z.infer<typeof ContractPeriodSchema>;

/** Oldest first, each ending before the next starts: two periods on one day would make the level in force ambiguous. */
export const ContractPeriodsSchema = z.array(ContractPeriodSchema).superRefine((periods, ctx) => {
  periods.forEach((p, i) => {
    if (p.to !== null && p.to < p.from) ctx.addIssue({ code: 'custom', path: [i, 'to'], input: p.to, message: `period ends (${p.to}) before it starts (${p.from})` });
    const previous = i > 0 ? periods[i - 1] : undefined;
    if (previous && (previous.to === null || previous.to >= p.from)) {
      ctx.addIssue({ code: 'custom', path: [i, 'from'], input: p.from, message: `period from ${p.from} overlaps the previous one (${previous.from} to ${previous.to ?? 'open'}): periods are oldest first and do not overlap` });
    }
  });
});

/** A child's proof on file: studies (or apprenticeship, first job search) between 18 and the grid's limit, disability beyond. */
export const ProofSchema = z.object({
  kind: z.enum(['studies', 'disability']),
  from: IsoDateSchema,
  /** last day covered (inclusive), null while open */
  to: IsoDateSchema.nullable(),
});
export type Proof = z.infer<typeof ProofSchema>;

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
   * The contract levels over time, oldest first (filled from the membership store; absent: `contracts`
   * applies on every date). When present, `contracts` is the latest period's, for display and old callers.
   */
  contractPeriods: ContractPeriodsSchema.optional(),
  /** A child's proofs on file. When present (even empty) they decide a child's cover from 18; absent: proof assumed on file. */
  proofs: z.array(ProofSchema).optional(),
});
export type Beneficiary = z.infer<typeof BeneficiarySchema>;

export const PmssRowSchema = z.object({ year: z.number().int().min(2000).max(2100), pmss: MoneySchema });
export type PmssRow = z.infer<typeof PmssRowSchema>;
/** year → PMSS of 1 January of that year */
export type PmssTable = Readonly<Record<number, string>>;
