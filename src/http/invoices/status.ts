import type { StatementSettlement } from '../../statement/index.js';
import type { IdempotencyRecord } from './receipts.js';
import type { ReceiptStatus } from './schemas.js';

type Latest = (lineKey: string) => { version: number; settlement: StatementSettlement | null } | undefined;

const ORDER = ['received', 'liquidated', 'settled'] as const;

/**
 * A receipt's status from the statement index (src/pipeline/statement-index.ts), kept as
 * settlements pass: two point reads per line, so the cost is the invoice's lines, never the
 * history. A line without a settlement is `received`; one decided `review` is `liquidated` (a
 * human must look: no amount is final); `paid`, `zero` and `rejected` are `settled`, with amounts.
 */
export function statusOf(record: IdempotencyRecord, latestOf: Latest): ReceiptStatus {
  const lines = record.lines.map((l): ReceiptStatus['lines'][number] => {
    const latest = latestOf(l.lineKey);
    const s = latest?.settlement ?? null;
    if (latest === undefined) return { ...l, status: 'received' };
    // a version that names no family (unknown beneficiary): decided, not indexed under a family
    if (s === null) return { ...l, status: 'liquidated' };
    const decision = { status: s.status, reason: s.reason, version: s.version };
    if (s.status === 'review') return { ...l, status: 'liquidated', decision };
    return { ...l, status: 'settled', decision, amounts: { expense: s.expense, roAmount: s.roAmount, amcAmount: s.amcAmount, restToPay: s.restToPay, ...(s.payee !== undefined ? { payee: s.payee } : {}) } };
  });
  const least = Math.min(...lines.map((l) => ORDER.indexOf(l.status)));
  return { receiptId: record.receiptId, invoiceId: record.invoiceId, receivedAt: record.receivedAt, status: ORDER[least] ?? 'received', lines };
}
