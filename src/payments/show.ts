import { Decimal } from 'decimal.js';
import { formatMoney, ZERO } from '../model/money.js';
import { orderLineCount, type PaymentOrder, type PaymentOrderHead } from '../model/payment.js';

/** What `noemie payments show <runId>` prints: the run's orders and sums, IBANs masked. */
export interface RunSummary<O extends PaymentOrder | PaymentOrderHead = PaymentOrder> {
  runId: string;
  payments: { count: number; total: string };
  transfers: { count: number; total: string };
  recoveries: { count: number; total: string };
  orders: O[];
}

export function runSummary<O extends PaymentOrder | PaymentOrderHead>(runId: string, orders: Iterable<O>): RunSummary<O> {
  const mine = [...orders].filter((o) => o.runId === runId);
  const sum = (list: O[]) => ({ count: list.length, total: formatMoney(list.reduce((s, o) => s.plus(o.amount), ZERO)) });
  return {
    runId,
    payments: sum(mine.filter((o) => o.kind === 'payment')),
    transfers: sum(mine.filter((o) => o.transfer)),
    recoveries: sum(mine.filter((o) => o.kind === 'recovery')),
    orders: mine,
  };
}

/** FR76…0189: enough to recognise an account, not enough to use it. */
export function maskIban(iban: string | null): string {
  return iban === null ? '-' : `${iban.slice(0, 4)}…${iban.slice(-4)}`;
}

export function renderRunSummary(s: RunSummary<PaymentOrder | PaymentOrderHead>): string {
  const rows = s.orders.map((o) => {
    const sign = o.kind === 'recovery' ? '-' : '';
    return `${o.kind.padEnd(8)} ${o.transfer ? 'SEPA' : '    '} ${`${sign}${o.amount}`.padStart(12)}  ${o.payee.padEnd(24)} ${maskIban(o.iban).padEnd(11)} ${o.endToEndId}  ${orderLineCount(o)} line(s)${new Decimal(o.debtAfter).gt(0) ? `, debt carried ${o.debtAfter}` : ''}`;
  });
  return [
    `run ${s.runId}: ${s.orders.length} order(s)`,
    `  transfers  ${String(s.transfers.count).padStart(5)}  ${s.transfers.total.padStart(12)}`,
    `  recoveries ${String(s.recoveries.count).padStart(5)}  ${s.recoveries.total.padStart(12)}  (debts carried, not transferred)`,
    '',
    ...rows,
    '',
  ].join('\n');
}
