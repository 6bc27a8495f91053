import { z } from 'zod';
import { IsoDateSchema } from './dates.js';
import { MoneySchema } from './money.js';

/**
 * What tiers-payant reconciliation decides (domain.md §4), one message on the reconciliation topic
 * each time a line or a claim changes state. `amount` means, by kind:
 * - matched: what the professional is owed for the line (paid by the payment run unless the operator already paid it);
 * - indu: claimed − entitlement, the excess claimed or paid (the professional is owed `entitled` only);
 * - held: the AMC part kept back (never paid to the member) until a claim confirms the line;
 * - exception: the amount at stake (the held line's AMC part, or the unconfirmed claim);
 * - annulation-indu: what had been paid or settled for payment to `payee` before the RO annulled the line.
 */
export const ReconKindSchema = z.enum(['matched', 'indu', 'held', 'exception', 'annulation-indu']);
export type ReconKind = z.infer<typeof ReconKindSchema>;

export const InstantSchema = z.iso.datetime().meta({ description: 'UTC instant, e.g. 2025-03-02T10:00:00.000Z' });

export const ReconOutcomeSchema = z
  .object({
    outcomeId: z.string().min(1).meta({ description: 'kind|lineKey@version|claimId#revision, then |n for the n-th (n ≥ 2) wait of that line version or claim revision: derived from what the decision is about, so the same decision always has the same id, after a redelivery or a replay too (dedupe downstream)' }),
    kind: ReconKindSchema,
    at: InstantSchema.meta({ description: 'time of the event that caused the decision (time comes in as data)' }),
    beneficiary: z.object({ nir: z.string(), rang: z.number().int() }).meta({ description: 'the person; the topic is keyed by NIR-rang like settlements' }),
    lineKey: z.string().nullable().meta({ description: 'the NOEMIE line, null for a claim no line confirmed' }),
    version: z.number().int().min(1).nullable().meta({ description: 'settlement version the decision was made on' }),
    tpClaimId: z.string().nullable(),
    psId: z.string().nullable(),
    payee: z.string().nullable().meta({ description: 'matched: who is paid (ps:<id>); indu, annulation-indu: who owes (ps:<id> or member:<adherentId>)' }),
    amount: MoneySchema,
    entitled: MoneySchema.nullable().meta({ description: 'the AMC amount of the line version (its entitlement), when a line is involved' }),
    claimed: MoneySchema.nullable().meta({ description: 'amc_amount_claimed, when a claim is involved' }),
    owed: MoneySchema.nullable().meta({ description: 'matched, indu: what the professional is owed for the line' }),
    claimPaidOn: IsoDateSchema.nullable().meta({ description: 'the claim was already paid by the operator on that date (counted as paid by the payment ledger)' }),
    reason: z.string().min(1).meta({ description: 'plain words for the person who reads it' }),
  })
  .meta({ title: 'Reconciliation outcome', description: 'reconciliation topic value (domain.md §4); see src/reconcile/README.md for the matching rule.' });
export type ReconOutcome = z.infer<typeof ReconOutcomeSchema>;
