import { z } from 'zod';
import { IsoDateSchema } from './dates.js';
import { MoneySchema } from './money.js';
import { InstantSchema } from './reconciliation.js';

/**
 * A payment order (formats.md §5): what one payee gets, or owes, in one payment run. The fixed
 * fields are `paymentId, runId, payee, iban, amount, endToEndId, lineKeys, kind`; the others make the
 * order self-explaining (per-line movements, the debt carried) and let the SEPA file be rebuilt from
 * the topic alone.
 */
export const PaymentKindSchema = z.enum(['payment', 'recovery']);
export type PaymentKind = z.infer<typeof PaymentKindSchema>;

/** `member:<adherentId>` (the family, paid to the adhérent's IBAN) or `ps:<psId>` (a professional paid in tiers payant). */
export const PayeeSchema = z.string().regex(/^(member|ps):.+$/, 'payee is member:<adherentId> or ps:<psId>');

export const PaymentLineSchema = z.object({
  lineKey: z.string().min(1),
  version: z.number().int().min(1).meta({ description: 'settlement version this movement brings the payee to' }),
  amount: MoneySchema.meta({ description: 'signed movement for this line: positive pays (first payment or complement), negative takes back' }),
});
export type PaymentLine = z.infer<typeof PaymentLineSchema>;

export const PositiveMoneySchema = MoneySchema.refine((m) => !m.startsWith('-'), 'amount is a magnitude; `kind` says the direction');

export const PaymentOrderSchema = z
  .object({
    paymentId: z.string().min(1).meta({ description: '<runId>:<payee>; one order per payee per run' }),
    runId: z.string().min(1),
    payee: PayeeSchema,
    iban: z.string().nullable().meta({ description: 'creditor IBAN (electronic format); null only for a recovery from a payee whose account is unknown' }),
    bic: z.string().nullable(),
    name: z.string().meta({ description: 'account holder, as the SEPA file names the creditor' }),
    amount: PositiveMoneySchema.meta({ description: 'payment: the transfer amount; recovery: what the payee owes after this run (carried as a debt)' }),
    endToEndId: z.string().regex(/^[A-Za-z0-9]{1,35}$/).meta({ description: 'stable key of what the order pays: hash of payee, kind, amount and lineKey@version movements' }),
    lineKeys: z.array(z.string().min(1)).min(1),
    kind: PaymentKindSchema,
    transfer: z.boolean().meta({ description: 'true when the order is a SEPA credit transfer in the run’s pain.001 file (payment with amount > 0)' }),
    lines: z.array(PaymentLineSchema).min(1),
    debtBefore: MoneySchema.meta({ description: 'what the payee owed before the run (offset against this run’s movements)' }),
    debtAfter: MoneySchema.meta({ description: 'what the payee owes after the run (carried to the next run, never sent as a transfer)' }),
    at: InstantSchema,
    careFrom: IsoDateSchema.optional().meta({ description: 'earliest care date of the lines paid (absent for lines settled before care dates were kept): the remittance text names the care period' }),
    careTo: IsoDateSchema.optional().meta({ description: 'latest care date of the lines paid' }),
  })
  .meta({ title: 'Payment order', description: 'payment-orders topic value and line of the run file (formats.md §5); src/payments/README.md explains the ledger.' });
export type PaymentOrder = z.infer<typeof PaymentOrderSchema>;

/** Where a payee is paid: the family's IBAN (adhérent) or a professional's. */
export const PayeeAccountSchema = z.object({
  iban: z.string(),
  bic: z.string().nullable(),
  name: z.string().min(1),
});
export type PayeeAccount = z.infer<typeof PayeeAccountSchema>;

/**
 * An order without its per-line lists (`lineKeys`, `lines`): what a bank file, a report row and a
 * run summary need. A large run keeps its orders so while it is written, the lines in the store
 * (src/pipeline/payment-run-stream.ts); `lineCount` says how many lines the order moves.
 */
export type PaymentOrderHead = Omit<PaymentOrder, 'lineKeys' | 'lines'> & { lineCount: number };

/** The head of a full order. */
export function orderHeadOf(o: PaymentOrder): PaymentOrderHead {
  const { lineKeys: _keys, lines, ...head } = o;
  return { ...head, lineCount: lines.length };
}

/** How many lines an order moves, whether it carries them or only their count. */
export const orderLineCount = (o: { lineKeys: readonly string[] } | { lineCount: number }): number => ('lineCount' in o ? o.lineCount : o.lineKeys.length);
