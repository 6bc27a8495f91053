import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import type { Beneficiary } from '../../src/model/reference.js';
import { accountBook } from '../../src/payments/index.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { stateStoreFileOf } from '../../src/state/kv-store.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService } from '../../src/pipeline/reconcile-service.js';
import { validPain001 } from '../support/pain001.js';
import { PS, PS_NO_ACCOUNT, claim, readAll, settlement } from './stages-given.js';

/**
 * The payment stage end to end on a bus (embedded or Kafka): settlements + claims → reconcile
 * service → two payment runs → a replay that lowers an amount → a third run.
 *
 * Family A001: the adhérent (IBAN on her row) and twins (one NIR, rang 1 and 2) with no IBAN: the
 * twins' member lines (tp 00) are paid to the family's one IBAN. Professional PS (own account) is
 * paid in tiers payant after reconciliation; PS_NO_ACCOUNT has no account: blocked, stays due.
 */
export const FAMILY_IBAN = 'FR7630006000011234567890189';
export const PS_IBAN = 'FR1420041010050500013M02606';
const TWINS = '2150575999999';
const MOTHER = '2850575123456';

const person = (over: Partial<Beneficiary>): Beneficiary => ({
  adherentId: 'A001', nir: MOTHER, nirKey: '00', rang: 1, birthDate: '1985-05-12', role: 'A', contracts: ['CCN-HLA-OPT2'],
  start: '2024-01-01', end: null, suspended: [], noemie: true, iban: null, bic: null, name: 'x', ...over,
});
export const FAMILY: Beneficiary[] = [
  person({ iban: FAMILY_IBAN, bic: 'AGRIFRPP', name: 'Élodie Martin' }),
  person({ role: 'E', nir: TWINS, rang: 1, birthDate: '2015-06-01', name: 'Léa Martin' }),
  person({ role: 'E', nir: TWINS, rang: 2, birthDate: '2015-06-01', name: 'Zoé Martin' }),
];
const ACCOUNTS = accountBook(FAMILY, { [PS]: { iban: PS_IBAN, bic: 'BNPAFRPPXXX', name: 'Cabinet Dr Dupont' } });

const member = (rang: number, lineKey: string, amcAmount: string, version = 1) =>
  settlement({ lineKey, beneficiary: { nir: TWINS, rang }, adherentId: 'A001', tp: '00', payee: 'member', amcAmount, version });

async function reconcile(bus: Bus): Promise<void> {
  const service = await startReconcileService({ bus });
  try {
    await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 30_000);
  } finally {
    await service.stop();
  }
}

export async function paymentScenario(bus: Bus, home: string): Promise<void> {
  await bus.produce('settlements', [
    member(1, 'noemie-1:D1:1', '9.00'), // Léa: 9.00
    member(2, 'noemie-1:D2:1', '12.50'), // Zoé: 12.50
    settlement({ lineKey: 'noemie-1:D3:1', beneficiary: { nir: MOTHER, rang: 1 } }), // tp 15, AMC 19.00, PS
    settlement({ lineKey: 'noemie-1:D4:1', beneficiary: { nir: MOTHER, rang: 1 }, careDate: '2025-03-04', psId: PS_NO_ACCOUNT, payee: `ps:${PS_NO_ACCOUNT}`, amcAmount: '7.00' }),
  ].map((value) => ({ value })));
  await bus.produce('tp-claims', [
    { value: claim({ tpClaimId: 'C3', nir: MOTHER }) },
    { value: claim({ tpClaimId: 'C4', nir: MOTHER, careDate: '2025-03-04', psId: PS_NO_ACCOUNT, amcAmountClaimed: '7.00' }) },
  ]);
  await reconcile(bus);
  const base = { bus, home, accounts: ACCOUNTS };

  // a dry run computes the orders but publishes, commits and saves nothing
  const dry = await runPaymentStage({ ...base, runId: 'R0', at: '2025-03-31T18:00:00Z', dryRun: true });
  expect(dry.orders.map((o) => [o.payee, o.amount])).toEqual(expect.arrayContaining([['member:A001', '21.50'], [`ps:${PS}`, '19.00']]));
  expect(await readAll(bus, 'payment-orders')).toEqual([]);
  expect(existsSync(stateStoreFileOf(home))).toBe(false);
  expect(dry.ordersFile).toBeNull();

  const first = await runPaymentStage({ ...base, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  expect(first.consumed).toEqual(dry.consumed);
  // the twins' 9.00 + 12.50 = 21.50 in ONE order to the family's IBAN; the professional 19.00 in tiers payant
  const byPayee = new Map(first.orders.map((o) => [o.payee, o]));
  expect(first.orders).toHaveLength(2);
  expect(byPayee.get('member:A001')).toMatchObject({ kind: 'payment', amount: '21.50', iban: FAMILY_IBAN, transfer: true });
  expect(byPayee.get('member:A001')?.lineKeys.sort()).toEqual(['noemie-1:D1:1', 'noemie-1:D2:1']);
  expect(byPayee.get(`ps:${PS}`)).toMatchObject({ kind: 'payment', amount: '19.00', iban: PS_IBAN, lineKeys: ['noemie-1:D3:1'] });
  // the professional without an account: blocked with its 7.00, reported
  expect(first.blocked.map((b) => [b.payee, b.amount])).toEqual([[`ps:${PS_NO_ACCOUNT}`, '7.00']]);

  // pain.001: 2 transfers, CtrlSum 21.50 + 19.00 = 40.50, in the group header and the payment block
  expect(first.sepaFiles).toHaveLength(1);
  const { doc, endToEndIds } = await validPain001(first.sepaFiles[0]!);
  expect([doc.GrpHdr.NbOfTxs, doc.GrpHdr.CtrlSum]).toEqual(['2', '40.50']);
  expect([doc.PmtInf[0]!.NbOfTxs, doc.PmtInf[0]!.CtrlSum]).toEqual(['2', '40.50']);
  expect(endToEndIds.sort()).toEqual(first.orders.map((o) => o.endToEndId).sort());
  expect(first.ordersFile).toBe(join(home, 'payments', 'R1', 'orders.ndjson'));
  const published = await readAll(bus, 'payment-orders');
  expect(published.map((o) => o.endToEndId).sort()).toEqual(first.orders.map((o) => o.endToEndId).sort());

  // the second run over the same facts: nothing consumed, nothing emitted, no file
  const second = await runPaymentStage({ ...base, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect(second.consumed).toEqual({ settlements: 0, reconciliation: 0 });
  expect(second.orders).toEqual([]);
  expect(second.ordersFile).toBeNull();
  expect(await readAll(bus, 'payment-orders')).toHaveLength(2);
  // the same run id again is refused
  expect((await runPaymentStage({ ...base, runId: 'R1', at: '2025-04-01T18:00:00Z' })).alreadyRun).toBe(true);

  // replay after a grid correction: Zoé's line is now worth 10.00 (version 2): 12.50 were paid, recover 2.50
  await bus.produce('settlements', [{ value: member(2, 'noemie-1:D2:1', '10.00', 2) }]);
  await reconcile(bus);
  const third = await runPaymentStage({ ...base, runId: 'R3', at: '2025-04-02T18:00:00Z' });
  expect(third.orders.map((o) => ({ payee: o.payee, kind: o.kind, amount: o.amount, transfer: o.transfer, lines: o.lines }))).toEqual([
    { payee: 'member:A001', kind: 'recovery', amount: '2.50', transfer: false, lines: [{ lineKey: 'noemie-1:D2:1', version: 2, amount: '-2.50' }] },
  ]);
  expect(third.sepaFiles).toEqual([]);
  const orders = await readAll(bus, 'payment-orders');
  expect(orders).toHaveLength(3);
  expect(orders.filter((o) => o.kind === 'recovery').map((o) => o.debtAfter)).toEqual(['2.50']);
}
