import type { PaymentOrder, PaymentOrderHead } from '../../model/payment.js';
import { shortId } from '../end-to-end.js';
import type { DebtorAccount, Pain001Input, PartyId } from './pain001.js';

/**
 * The SEPA files of one run: the run's transfers (orders with `transfer: true`; recoveries are
 * debts, not transfers) split by the debtor account they are paid from — one file per run and
 * debtor account. Ids derive from the run and the account, so re-planning the same run gives the
 * same MsgId (a bank refuses a second file with the same MsgId).
 */
export interface SepaRunInput {
  runId: string;
  createdAt: string;
  executionDate: string;
  initiatingParty: string;
  initiatingPartyId?: PartyId | null;
  orders: readonly (PaymentOrder | PaymentOrderHead)[];
  /** which of the insurer's accounts pays this order (e.g. one for members, one for professionals) */
  debtorOf: (order: PaymentOrder | PaymentOrderHead) => DebtorAccount;
}

export interface SepaFile extends Pain001Input {
  fileName: string;
}

export function planSepaFiles(input: SepaRunInput): SepaFile[] {
  const groups = new Map<string, { debtor: DebtorAccount; orders: (PaymentOrder | PaymentOrderHead)[] }>();
  for (const order of input.orders) {
    if (!order.transfer) continue;
    const debtor = input.debtorOf(order);
    const key = debtor.iban.replace(/\s/g, '').toUpperCase();
    const group = groups.get(key);
    if (group) group.orders.push(order);
    else groups.set(key, { debtor, orders: [order] });
  }
  return [...groups].map(([iban, { debtor, orders }]) => {
    const messageId = shortId('NOE', input.runId, iban);
    return {
      fileName: `pain.001.001.09-${input.runId.replace(/[^A-Za-z0-9._-]/g, '_')}-${messageId}.xml`,
      messageId,
      paymentInfoId: shortId('PMT', input.runId, iban),
      createdAt: input.createdAt,
      executionDate: input.executionDate,
      initiatingParty: input.initiatingParty,
      ...(input.initiatingPartyId ? { initiatingPartyId: input.initiatingPartyId } : {}),
      debtor,
      orders,
    };
  });
}
