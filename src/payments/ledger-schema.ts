import { z } from 'zod';
import { IsoDateSchema } from '../model/dates.js';
import { MoneySchema } from '../model/money.js';
import { ReconKindSchema } from '../model/reconciliation.js';
import type { PaymentsLedger } from './types.js';

/** The persisted ledger, checked when read back (zod at every boundary). */
const Money = MoneySchema;

const LineLedgerSchema = z.object({
  settlement: z
    .object({
      version: z.number().int().min(1),
      status: z.enum(['paid', 'zero', 'rejected', 'review']),
      annulled: z.boolean(),
      tiersPayant: z.boolean(),
      adherentId: z.string().nullable(),
      amcAmount: Money,
      // absent in ledgers kept before care dates were
      careDate: IsoDateSchema.optional(),
    })
    .nullable(),
  tp: z.object({ version: z.number().int().min(1), kind: ReconKindSchema, payee: z.string().nullable(), owed: Money }).nullable(),
  paid: z.record(z.string(), Money),
});

export const PaymentsLedgerSchema = z.object({
  lines: z.record(z.string(), LineLedgerSchema),
  operatorPaid: z.record(z.string(), z.object({ payee: z.string(), amount: Money, lineKey: z.string() })),
  due: z.record(z.string(), z.literal(true)),
  debts: z.record(z.string(), Money),
  runs: z.record(z.string(), z.object({ at: z.string(), orders: z.number().int().min(0) })),
  // absent in ledgers written before the payment controls: nothing held, nothing approved
  held: z
    .record(
      z.string(),
      z.object({
        paymentId: z.string(), runId: z.string(), payee: z.string(), amount: z.string(), endToEndId: z.string(), lineKeys: z.array(z.string()),
        ceiling: z.enum(['amount', 'order', 'run']), limit: Money.nullable(), reason: z.string(),
      }),
    )
    .default({}),
  approvals: z
    .record(z.string(), z.object({ payee: z.string(), paymentId: z.string(), endToEndId: z.string(), amount: Money, by: z.string().min(1), at: z.string() }))
    .default({}),
});

export function parsePaymentsLedger(value: unknown): PaymentsLedger {
  return PaymentsLedgerSchema.parse(value);
}
