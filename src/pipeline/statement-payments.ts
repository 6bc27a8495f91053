import type { PaymentsLedger } from '../payments/index.js';
import type { LinePaymentFacts } from '../statement/payment.js';
import { PaymentsStore } from './payments-store.js';

/**
 * The payment facts of a statement's lines, read from the home's payment state without writing
 * (nothing is created or imported): point reads of those lines (PaymentsStore.paymentFactsOf), so
 * the cost follows the family. A legacy ledger.json not imported yet gives its lines' facts, with
 * no run per line (the statement then says "versé" without a date). No payment state: empty map
 * (every line is then waiting for its first run).
 */
export async function paymentFactsForStatement(home: string, lineKeys: readonly string[]): Promise<Map<string, LinePaymentFacts>> {
  const source = await PaymentsStore.openForReading(home);
  if (source === null) return new Map();
  if ('legacy' in source) return factsOfLedger(source.legacy.ledger, lineKeys);
  try {
    return source.paymentFactsOf(lineKeys);
  } finally {
    await source.close();
  }
}

function factsOfLedger(ledger: PaymentsLedger, lineKeys: readonly string[]): Map<string, LinePaymentFacts> {
  const out = new Map<string, LinePaymentFacts>();
  for (const lineKey of lineKeys) {
    const line = Object.hasOwn(ledger.lines, lineKey) ? ledger.lines[lineKey]! : null;
    const held = Object.values(ledger.held).find((h) => h.lineKeys.includes(lineKey));
    out.set(lineKey, {
      line,
      runs: [],
      operatorPaid: Object.values(ledger.operatorPaid).filter((p) => p.lineKey === lineKey),
      blocked: null,
      held: held ? { payee: held.payee, runId: held.runId, ceiling: held.ceiling } : null,
    });
  }
  return out;
}
