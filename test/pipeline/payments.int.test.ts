import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { readAll, settlement, tempDir } from './stages-given.js';
import { paymentScenario } from './payments-scenario.js';

let home = '';
let cleanup: () => Promise<void>;
let bus: Bus;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('payments-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
});

afterEach(async () => {
  await bus.close();
  await cleanup();
});

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
  expect(next.republished).toBe(1);
  expect(next.orders).toEqual([]);
  const orders = await readAll(bus, 'payment-orders');
  expect(orders.map((o) => [o.runId, o.payee, o.amount])).toEqual([['R1', 'member:A9', '9.00']]);
});
