import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage, startPaymentsFollower } from '../../src/pipeline/payments-service.js';
import { loadPaymentsState } from '../../src/pipeline/payments-store.js';
import { settlement, tempDir } from './stages-given.js';

/**
 * `noemie run --once` folds the payment inputs in as they are published (startPaymentsFollower)
 * and the payment run reads the tail: the run must pay exactly what a run that consumed everything
 * itself pays, and must not consume again what the follower committed.
 */
let dirs: { dir: string; cleanup: () => Promise<void> }[] = [];
let buses: Bus[] = [];

beforeEach(() => {
  dirs = [];
  buses = [];
});

afterEach(async () => {
  for (const b of buses) await b.close();
  for (const d of dirs) await d.cleanup();
});

async function newHome(): Promise<{ home: string; bus: Bus }> {
  const d = await tempDir('payments-follower-');
  dirs.push(d);
  const bus = await openEmbeddedBus({ dir: join(d.dir, 'bus') });
  buses.push(bus);
  return { home: d.dir, bus };
}

const A9 = { adherentId: 'A9', nir: '1850375123456', nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A' as const, contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: 'FR7630006000011234567890189', bic: null, name: 'Jean Dupont' };
const A7 = { ...A9, adherentId: 'A7', nir: '2850375123457', iban: 'FR7630006000011234567890189', name: 'Marie Martin' };
const line = (n: number, adherentId: string, nir: string, amcAmount: string, version = 1) =>
  settlement({ lineKey: `n:D${n}:1`, beneficiary: { nir, rang: 1 }, adherentId, tp: '00', payee: 'member', amcAmount, version });

// Before the follower starts: A9 line 1 (9.00). While it runs: A9 line 2 (4.50), A7 line 3 (20.00).
// After it stops: line 1 again as version 2 at 7.00 (a re-liquidation: 2.00 less).
// Expected run: A9 = 7.00 + 4.50 = 11.50, A7 = 20.00.
const before = [line(1, 'A9', A9.nir, '9.00')];
const during = [line(2, 'A9', A9.nir, '4.50'), line(3, 'A7', A7.nir, '20.00')];
const after = [line(1, 'A9', A9.nir, '7.00', 2)];

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(check()).toBe(true);
}

it('a payment run after the follower pays what a run consuming everything pays, and reads only the tail', async () => {
  const accounts = accountBook([A9, A7]);
  const at = '2025-03-31T18:00:00Z';

  const followed = await newHome();
  await followed.bus.produce('settlements', before.map((value) => ({ value })));
  // minBatch 1: a catch-up as soon as anything is new (the run's default waits for a full batch)
  const follower = await startPaymentsFollower({ bus: followed.bus, home: followed.home, minBatch: 1, everyMs: 20 });
  await followed.bus.produce('settlements', during.map((value) => ({ value })));
  await until(() => follower.stats.settlements === 3);
  await follower.stop();
  await followed.bus.produce('settlements', after.map((value) => ({ value })));
  const run = await runPaymentStage({ bus: followed.bus, home: followed.home, accounts, runId: 'R1', at });

  const plain = await newHome();
  await plain.bus.produce('settlements', [...before, ...during, ...after].map((value) => ({ value })));
  const reference = await runPaymentStage({ bus: plain.bus, home: plain.home, accounts, runId: 'R1', at });

  // the follower committed its 3 settlements: the run consumed the one published after it stopped
  expect(run.consumed).toEqual({ settlements: 1, reconciliation: 0 });
  expect(reference.consumed).toEqual({ settlements: 4, reconciliation: 0 });
  const orders = (r: typeof run) => r.orders.map((o) => [o.payee, o.kind, o.amount, o.endToEndId]).sort();
  expect(orders(run).map(([payee, kind, amount]) => [payee, kind, amount])).toEqual([
    ['member:A7', 'payment', '20.00'],
    ['member:A9', 'payment', '11.50'],
  ]);
  expect(orders(run)).toEqual(orders(reference));
  // and the same payment state: every line paid as in the reference
  expect((await loadPaymentsState(followed.home)).ledger.lines).toEqual((await loadPaymentsState(plain.home)).ledger.lines);
});
