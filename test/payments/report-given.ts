import { expect } from 'vitest';
import type { Beneficiary } from '../../src/model/reference.js';
import { accountBook, planPaymentRun, runPayments, type PaymentsLedger } from '../../src/payments/index.js';
import { buildRunReport, type RunReport } from '../../src/payments/report.js';
import { FAMILY, ledgerWith, O, outcome, PS, PS_IBAN, S, settled } from './given.js';

/**
 * Given a family A001 paid 9.00 + 25.20 in R1, then for R2:
 *   - A001's D101 re-liquidated at 15.75 (v2)         → movement 15.75 − 25.20 = −9.45: a recovery
 *   - family A002 (another IBAN), D200 at 120.00       → above the 100.00 per-order ceiling: HELD
 *   - tiers payant D900 matched, PS owed 19.00         → transferred
 *   - tiers payant D901 matched, PS2 owed 12.00 (PS2 has no account) → BLOCKED
 *   - tiers payant D902 (30.00) held by reconciliation → withheld, entitled 0, movement 0
 *   - A001's D103 under review                         → pending
 */
export const PS2 = '759999999';
const A002: Beneficiary = { ...FAMILY[0]!, adherentId: 'A002', nir: '1790575111111', iban: 'FR7630006000019876543210173', bic: 'AGRIFRPP', name: 'Marc Petit' };
const ACCOUNTS = accountBook([...FAMILY, A002], { [PS]: { iban: PS_IBAN, bic: 'BNPAFRPPXXX', name: 'Cabinet Dr Dupont' } });
const LIMITS = { maxOrder: '100.00', maxRun: '500000.00' };
const DEBTOR = { name: 'MUTUELLE NOEMIE', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX' };

export const d100 = settled({ lineKey: 'n:D100:1', amcAmount: '9.00' });
const d101 = settled({ lineKey: 'n:D101:1', beneficiary: { nir: '2150575999999', rang: 2 }, amcAmount: '25.20' });
const tp = (lineKey: string, amcAmount: string, psId: string) => settled({ lineKey, tp: '15', payee: `ps:${psId}`, psId, amcAmount });

export const plan = (ledger: PaymentsLedger, runId: string, day: string) =>
  planPaymentRun(ledger, { runId, at: `${day}T18:00:00.000Z`, accounts: ACCOUNTS, limits: LIMITS, outDir: '/tmp/unused', debtorOf: () => DEBTOR, executionDate: day, initiatingParty: 'MUTUELLE NOEMIE' });

export function reportOf(ledger: PaymentsLedger, runId: string, day: string): { report: RunReport; after: PaymentsLedger } {
  const { result, intent } = plan(ledger, runId, day);
  return { report: buildRunReport({ runId, at: `${day}T18:00:00.000Z`, slice: ledger, result, intent }), after: result.ledger };
}

export function givenR2(): PaymentsLedger {
  const r1 = runPayments(ledgerWith([S(d100), S(d101)]), { runId: 'R1', at: '2025-03-01T18:00:00.000Z', accounts: ACCOUNTS, limits: LIMITS });
  expect(r1.orders.map((o) => o.amount)).toEqual(['34.20']); // 9.00 + 25.20
  return ledgerWith(
    [
      S({ ...d101, version: 2, amcAmount: '15.75' }),
      S(settled({ lineKey: 'n:D200:1', adherentId: 'A002', beneficiary: { nir: '1790575111111', rang: 1 }, amcAmount: '120.00' })),
      S(tp('n:D900:1', '19.00', PS)),
      O(outcome({ kind: 'matched', lineKey: 'n:D900:1', tpClaimId: 'C1', owed: '19.00' })),
      S(tp('n:D901:1', '12.00', PS2)),
      O(outcome({ kind: 'matched', lineKey: 'n:D901:1', tpClaimId: 'C2', psId: PS2, payee: `ps:${PS2}`, amount: '12.00', entitled: '12.00', claimed: '12.00', owed: '12.00' })),
      S(tp('n:D902:1', '30.00', PS)),
      O(outcome({ kind: 'held', lineKey: 'n:D902:1', tpClaimId: 'C3', payee: null, owed: null })),
      S(settled({ lineKey: 'n:D103:1', status: 'review', amcAmount: '7.00' })),
    ],
    r1.ledger,
  );
}

