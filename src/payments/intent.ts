import { z } from 'zod';
import { PaymentOrderSchema, type PaymentOrder, type PaymentOrderHead } from '../model/payment.js';
import { PaymentsError } from './errors.js';
import type { DebtorAccount } from './sepa/pain001.js';
import type { SepaFile } from './sepa/files.js';

/**
 * A run's intent: everything its bank files and its topic messages are made of, recorded in the
 * payment state (with the ledger that counts the run as paid) BEFORE any file exists. A restart
 * that finds an intent not marked complete re-writes the same files from it — byte for byte: same
 * MsgId, same EndToEndIds, same order of transactions — and never decides another run over the
 * same lines while it is pending.
 */
const DebtorSchema = z.object({ name: z.string(), iban: z.string(), bic: z.string().nullable() });

export const SepaFileIntentSchema = z.object({
  fileName: z.string().min(1),
  messageId: z.string().min(1),
  paymentInfoId: z.string().min(1),
  createdAt: z.string(),
  executionDate: z.string(),
  initiatingParty: z.string(),
  // absent in intents saved before the initiating party had an id: re-written as they were
  initiatingPartyId: z.object({ id: z.string().min(1), scheme: z.string().nullable() }).nullable().optional(),
  debtor: DebtorSchema,
  /** the file's transactions, in file order (each one an order of `orders`) */
  endToEndIds: z.array(z.string()).min(1),
});
export type SepaFileIntent = z.infer<typeof SepaFileIntentSchema>;

export const RunIntentSchema = z.object({
  runId: z.string().min(1),
  at: z.string(),
  /** the run's folder (absolute): the files go there whatever --out the restart is given */
  dir: z.string().min(1),
  ordersFile: z.string().min(1),
  files: z.array(SepaFileIntentSchema),
  orders: z.array(PaymentOrderSchema).min(1),
});
export type RunIntent = z.infer<typeof RunIntentSchema>;

/**
 * The intent of a run from its orders and its planned files, with the "one bank file per payment"
 * control: every transfer in exactly one file, nothing else in any file.
 */
export function runIntent<O extends PaymentOrder | PaymentOrderHead = PaymentOrder>(runId: string, at: string, dir: string, orders: O[], files: SepaFile[]): Omit<RunIntent, 'orders'> & { orders: O[] } {
  const transfers = new Set(orders.filter((o) => o.transfer).map((o) => o.endToEndId));
  const seen = new Set<string>();
  const fileIntents = files.map(({ orders: inFile, ...f }) => {
    for (const o of inFile) {
      if (!transfers.has(o.endToEndId) || seen.has(o.endToEndId)) {
        throw new PaymentsError('PAYMENTS_DUPLICATE_END_TO_END', `run ${runId}: order ${o.paymentId} (EndToEndId ${o.endToEndId}) would be in more than one pain.001 file, or is not a transfer of the run`, { runId, endToEndId: o.endToEndId });
      }
      seen.add(o.endToEndId);
    }
    return { ...f, debtor: { name: f.debtor.name, iban: f.debtor.iban, bic: f.debtor.bic } satisfies DebtorAccount, endToEndIds: inFile.map((o) => o.endToEndId) };
  });
  const missing = [...transfers].filter((id) => !seen.has(id));
  if (missing.length > 0) throw new PaymentsError('PAYMENTS_DUPLICATE_END_TO_END', `run ${runId}: transfer(s) ${missing.join(', ')} are in no pain.001 file`, { runId });
  return { runId, at, dir, ordersFile: 'orders.ndjson', files: fileIntents, orders };
}

/** The files of an intent with their orders, in the recorded order. */
export function sepaFilesOf(intent: Omit<RunIntent, 'orders'> & { orders: readonly (PaymentOrder | PaymentOrderHead)[] }): SepaFile[] {
  const byId = new Map(intent.orders.map((o) => [o.endToEndId, o]));
  return intent.files.map(({ endToEndIds, ...f }) => ({
    ...f,
    orders: endToEndIds.map((id) => {
      const o = byId.get(id);
      if (!o) throw new PaymentsError('PAYMENTS_DUPLICATE_END_TO_END', `run ${intent.runId}: file ${f.fileName} names EndToEndId ${id}, which no order of the run has`, { runId: intent.runId });
      return o;
    }),
  }));
}

/**
 * The hard control against a transfer sent twice: `handedOver` maps every EndToEndId ever put in a
 * bank file to the MsgId of that file. A file may only carry ids that are new or already its own.
 */
export function checkNotHandedOver(handedOver: Readonly<Record<string, string>>, file: Pick<SepaFileIntent, 'fileName' | 'messageId' | 'endToEndIds'>): void {
  for (const id of file.endToEndIds) {
    const owner = Object.hasOwn(handedOver, id) ? handedOver[id] : undefined;
    if (owner !== undefined && owner !== file.messageId) {
      throw new PaymentsError('PAYMENTS_DUPLICATE_END_TO_END', `pain.001 ${file.fileName} (MsgId ${file.messageId}) would repeat EndToEndId ${id}, already handed over in MsgId ${owner}: refused`, { fileName: file.fileName, endToEndId: id, messageId: owner });
    }
  }
}
