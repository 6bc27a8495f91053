import { z } from 'zod';
import { MoneySchema } from '../model/money.js';
import { TpClaimSchema } from '../model/tp-claim.js';
import type { ReconState } from './types.js';

/** The persisted state, checked when it is read back from the changelog (zod at every boundary). */
const InstantText = z.iso.datetime();

export const LineEntrySchema = z.object({
  lineKey: z.string().min(1),
  version: z.number().int().min(1),
  status: z.enum(['member', 'held', 'linked', 'review', 'annulled']),
  tp: z.string().nullable(),
  identity: z.object({ nir: z.string(), rang: z.number().int(), careDate: z.string(), psId: z.string().nullable(), actCode: z.string() }),
  invoiceNo: z.string().nullable(),
  adherentId: z.string().nullable(),
  amcAmount: MoneySchema,
  settled: MoneySchema,
  claimId: z.string().nullable(),
  owed: MoneySchema.nullable(),
  heldSince: InstantText.nullable(),
  deadline: InstantText.nullable(),
  exceptionRaised: z.boolean(),
  // optional: states written before it was added read as a first wait
  holds: z.number().int().min(0).optional(),
});

export const ClaimEntrySchema = z.object({
  claim: TpClaimSchema,
  revision: z.number().int().min(1),
  receivedAt: InstantText,
  lineKey: z.string().nullable(),
  deadline: InstantText.nullable(),
  exceptionRaised: z.boolean(),
  waits: z.number().int().min(0).optional(),
  recoveredOn: z.string().optional(),
});

export const ReconStateSchema = z.object({
  lines: z.record(z.string(), LineEntrySchema),
  claims: z.record(z.string(), ClaimEntrySchema),
  seq: z.number().int().min(0),
});

export function parseReconState(value: unknown): ReconState {
  return ReconStateSchema.parse(value);
}
