import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { accountBook, applyPaymentEvents, runPayments } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { legacyLedgerFileOf, loadPaymentsState, PaymentsStore } from '../../src/pipeline/payments-store.js';
import { stateStoreFileOf } from '../../src/state/kv-store.js';
import { readAll, settlement, tempDir } from './stages-given.js';

let home = '';
let cleanup: () => Promise<void>;
let bus: Bus;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('payments-store-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
});
afterEach(async () => {
  await bus.close();
  await cleanup();
});

const A9 = { adherentId: 'A9', nir: '1850375123456', nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A' as const, contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: 'FR7630006000011234567890189', bic: null, name: 'Jean Dupont' };
const accounts = accountBook([A9]);
const a9Line = (lineKey: string, amcAmount: string) => settlement({ lineKey, beneficiary: { nir: '1850375123456', rang: 1 }, adherentId: 'A9', tp: '00', payee: 'member', amcAmount });

it("a home of the previous version (payments/ledger.json) is imported once: same state, file renamed .imported, nothing paid twice", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  const r1 = await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  expect(r1.orders.map((o) => o.amount)).toEqual(['21.50']); // 9.00 + 12.50 in one order
  // the same home as the previous version left it: the bus offsets committed, the state in ledger.json
  const legacy = await loadPaymentsState(home);
  await rm(stateStoreFileOf(home));
  await rm(`${stateStoreFileOf(home)}-lock`, { force: true });
  await writeFile(legacyLedgerFileOf(home), JSON.stringify({ format: 2, ledger: legacy.ledger, outbox: [], pending: null, handedOver: legacy.handedOver }));
  await writeFile(`${legacyLedgerFileOf(home)}.tmp`, '{"format":2,'); // a save the crash interrupted

  const store = await PaymentsStore.open(home);
  expect(store.readAll()).toEqual(legacy);
  await store.close();
  expect([existsSync(legacyLedgerFileOf(home)), existsSync(`${legacyLedgerFileOf(home)}.imported`), existsSync(`${legacyLedgerFileOf(home)}.tmp`)]).toEqual([false, true, false]);

  // D1 replayed (same version: nothing to pay), D3 new: R2 pays D3's 4.50 alone
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D3:1', '4.50') }]);
  const r2 = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect(r2.orders.map((o) => [o.amount, o.lineKeys])).toEqual([['4.50', ['n:D3:1']]]);
  const after = await loadPaymentsState(home);
  expect(Object.keys(after.ledger.runs).sort()).toEqual(['R1', 'R2']);
  // R1's EndToEndId is still in the handed-over index, next to R2's
  expect(Object.keys(after.handedOver).sort()).toEqual([r1.orders[0]!.endToEndId, r2.orders[0]!.endToEndId].sort());
  expect((await readAll(bus, 'payment-orders')).map((o) => o.paymentId)).toEqual(['R1:member:A9', 'R2:member:A9']);
});

it('a run reads what is due, not the history; deciding on that slice gives the same run as on the whole ledger', async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  const store = await PaymentsStore.open(home);
  try {
    // a consumed batch: D2 corrected down to 10.00 (version 2), D3 new
    const batch = [{ kind: 'settlement' as const, settlement: { ...a9Line('n:D2:1', '10.00'), version: 2 } }, { kind: 'settlement' as const, settlement: a9Line('n:D3:1', '4.50') }];
    await store.applyEvents(batch, applyPaymentEvents);
    const slice = store.readSlice({ run: true, runId: 'R2' });
    // D1 (paid, unchanged) is not read
    expect(Object.keys(slice.lines).sort()).toEqual(['n:D2:1', 'n:D3:1']);
    expect(Object.keys(slice.due).sort()).toEqual(['n:D2:1', 'n:D3:1']);
    const input = { runId: 'R2', at: '2025-04-01T18:00:00Z', accounts };
    const onSlice = runPayments(slice, input);
    const onWhole = runPayments(store.readAll().ledger, input);
    // 4.50 new − 2.50 recovered on D2 (12.50 paid, 10.00 due) = 2.00
    expect(onSlice.orders.map((o) => o.amount)).toEqual(['2.00']);
    expect(onSlice.orders).toEqual(onWhole.orders);
    expect([onSlice.blocked, onSlice.pending, onSlice.held]).toEqual([onWhole.blocked, onWhole.pending, onWhole.held]);
  } finally {
    await store.close();
  }
});
