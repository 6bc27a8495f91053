import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { emptyPaymentsState, legacyLedgerFileOf, loadPaymentsState, savePaymentsState } from '../../src/pipeline/payments-store.js';
import type { Bus } from '../../src/bus/index.js';
import { readAll, settlement, withEmbeddedHome } from './stages-given.js';
import { paymentScenario } from './payments-scenario.js';
import { validPain001 } from '../support/pain001.js';

let home = '';
let bus: Bus;
withEmbeddedHome('payments-', (h, b) => ((home = h), (bus = b)));

it('embedded bus: family on one IBAN, professional in TP, blocked payee, SEPA sums, idempotent runs, recovery after a replay', async () => {
  await paymentScenario(bus, home);
}, 60_000);

it('a crash after the ledger is saved but before the orders reach the topic: the next run publishes them, pays nothing twice', async () => {
  const accounts = accountBook([{ adherentId: 'A9', nir: '1850375123456', nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A', contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: 'FR7630006000011234567890189', bic: null, name: 'Jean Dupont' }]);
  await bus.produce('settlements', [{ value: settlement({ lineKey: 'n:D1:1', beneficiary: { nir: '1850375123456', rang: 1 }, adherentId: 'A9', tp: '00', payee: 'member', amcAmount: '9.00' }) }]);
  // the broker goes away exactly when the orders are produced
  const failing = new Proxy(bus, {
    get: (target, prop, receiver) =>
      prop === 'produce'
        ? async (topic: string, messages: unknown[]) => {
            if (topic === 'payment-orders') throw new Error('broker gone');
            return (target.produce as (t: string, m: unknown[]) => Promise<void>)(topic, messages);
          }
        : Reflect.get(target, prop, receiver),
  }) as Bus;
  await expect(runPaymentStage({ bus: failing, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' })).rejects.toThrow('broker gone');
  expect(await readAll(bus, 'payment-orders')).toEqual([]);

  const next = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  // R1 was recorded (its intent) before its files: the next start completes it, then R2 finds nothing
  expect(next.resumed).toMatchObject({ runId: 'R1', orders: 1 });
  expect(next.orders).toEqual([]);
  const orders = await readAll(bus, 'payment-orders');
  expect(orders.map((o) => [o.runId, o.payee, o.amount])).toEqual([['R1', 'member:A9', '9.00']]);
});

const A9 = { adherentId: 'A9', nir: '1850375123456', nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A' as const, contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: 'FR7630006000011234567890189', bic: null, name: 'Jean Dupont' };
const a9Line = (amcAmount: string) => settlement({ lineKey: 'n:D1:1', beneficiary: { nir: '1850375123456', rang: 1 }, adherentId: 'A9', tp: '00', payee: 'member', amcAmount });

it('an EndToEndId already handed over in another file refuses the run (PAYMENTS_DUPLICATE_END_TO_END): nothing recorded, no file', async () => {
  const accounts = accountBook([A9]);
  await bus.produce('settlements', [{ value: a9Line('9.00') }]);
  const dry = await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z', dryRun: true });
  const id = dry.orders[0]!.endToEndId;
  // as if an earlier file (another MsgId) had carried this transfer, and the ledger had lost it
  await savePaymentsState(home, { ...emptyPaymentsState(), handedOver: { [id]: 'NOEOTHERFILE' } });
  await expect(runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' })).rejects.toMatchObject({ code: 'PAYMENTS_DUPLICATE_END_TO_END', message: expect.stringContaining('NOEOTHERFILE') });
  const state = await loadPaymentsState(home);
  expect([state.pending, state.ledger.runs]).toEqual([null, {}]);
  expect(existsSync(join(home, 'payments', 'R1'))).toBe(false);
  expect(await readAll(bus, 'payment-orders')).toEqual([]);
});

it('a state left by the previous version (format 1, an outbox entry) is finished: its orders are published, nothing is paid again', async () => {
  const accounts = accountBook([A9]);
  await bus.produce('settlements', [{ value: a9Line('9.00') }]);
  // the previous version wrote orders.ndjson, then the ledger with the run and an outbox entry, then crashed
  const first = await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z', dryRun: true });
  const r0 = await runPaymentStage({ bus, home, accounts, runId: 'R0', at: '2025-03-30T18:00:00Z' }); // consumes; R0 pays 9.00
  expect(r0.orders.map((o) => o.amount)).toEqual(['9.00']);
  const state = await loadPaymentsState(home);
  const ordersFile = join(home, 'legacy-orders.ndjson');
  await writeFile(ordersFile, `${JSON.stringify({ ...first.orders[0], paymentId: 'R-old:member:A9', runId: 'R-old' })}\n`);
  await writeFile(legacyLedgerFileOf(home), JSON.stringify({ format: 1, ledger: state.ledger, outbox: [{ runId: 'R-old', ordersFile }] }));
  const next = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect(next.republished).toBe(1);
  expect(next.orders).toEqual([]);
  expect((await readAll(bus, 'payment-orders')).map((o) => o.paymentId).sort()).toEqual(['R-old:member:A9', 'R0:member:A9']);
  expect((await loadPaymentsState(home)).outbox).toEqual([]);
});

it('a run cut off on Good Friday asks the bank for the next TARGET2 business day; a payee named in Chinese still gets a valid pain.001 (EPC XSD)', async () => {
  const LI = { ...A9, adherentId: 'A10', nir: '1850375123457', name: '李小龙', iban: 'FR1420041010050500013M02606' };
  const accounts = accountBook([A9, LI]);
  await bus.produce('settlements', [
    { value: a9Line('9.00') },
    { value: settlement({ lineKey: 'n:D2:1', beneficiary: { nir: LI.nir, rang: 1 }, adherentId: 'A10', tp: '00', payee: 'member', amcAmount: '12.50', careDate: '2025-04-07' }) },
    { value: settlement({ lineKey: 'n:D3:1', beneficiary: { nir: LI.nir, rang: 1 }, adherentId: 'A10', tp: '00', payee: 'member', amcAmount: '3.00', careDate: '2025-04-02' }) },
  ]);
  // 18 April 2025 is Good Friday (Easter 20 April): closed, then Saturday, Sunday, Easter Monday → Tuesday 22
  const r = await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-04-18T16:00:00Z', initiatingParty: { name: 'Mutuelle Exemple', id: 'CLIENT0042', scheme: 'CUST' } });
  expect(r.sepaFiles).toHaveLength(1);
  const { doc, transactions } = await validPain001(r.sepaFiles[0]!);
  expect(doc.PmtInf[0]!.ReqdExctnDt.Dt).toBe('2025-04-22');
  expect(doc.GrpHdr.InitgPty).toEqual({ Nm: 'Mutuelle Exemple', Id: { OrgId: { Othr: { Id: 'CLIENT0042', SchmeNm: { Cd: 'CUST' } } } } });
  const li = transactions.find((t) => t.Amt.InstdAmt['#text'] === '15.50')!; // 12.50 + 3.00
  expect(li.Cdtr.Nm).toBe('Adherent A10');
  // the care period of its two lines, 2 to 7 April
  expect(li.RmtInf.Ustrd).toBe('Remboursement sante - soins du 02/04/2025 au 07/04/2025 - adherent A10 - ref. R1');
});
