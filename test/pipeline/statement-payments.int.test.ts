import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { paymentFactsForStatement } from '../../src/pipeline/statement-payments.js';
import { linePaymentOf } from '../../src/statement/index.js';
import { settlement, tempDir } from './stages-given.js';

/**
 * Which run paid which line, as the payment stage records it for member statements
 * (PaymentsStore: payments.line-run, payments.line-blocked), read through paymentFactsForStatement.
 */
let home = '';
let cleanup: () => Promise<void>;
let bus: Bus;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('statement-payments-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
});
afterEach(async () => {
  await bus.close();
  await cleanup();
});

const person = (adherentId: string, nir: string, iban: string | null) => ({ adherentId, nir, nirKey: '00', rang: 1, birthDate: '1985-01-01', role: 'A' as const, contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban, bic: null, name: `Famille ${adherentId}` });
const A9 = person('A9', '1850375123456', 'FR7630006000011234567890189');
const B7 = person('B7', '2850375123457', null);
const line = (lineKey: string, p: typeof A9, amcAmount: string) => settlement({ lineKey, beneficiary: { nir: p.nir, rang: 1 }, adherentId: p.adherentId, tp: '00', payee: 'member', amcAmount });

it('a run records which lines it paid (and when), and which it could not pay; a later run that pays clears the blocked mark', async () => {
  await bus.produce('settlements', [{ value: line('D1', A9, '9.00') }, { value: line('B1', B7, '5.00') }]);
  // Saturday 29 March 2025: TARGET2 is closed, the transfers go out on Monday 31 March
  await runPaymentStage({ bus, home, accounts: accountBook([A9, B7]), runId: 'R1', at: '2025-03-29T18:00:00Z' });

  const first = await paymentFactsForStatement(home, ['D1', 'B1', 'unknown']);
  expect(first.get('D1')!.runs).toEqual([{ runId: 'R1', at: '2025-03-29T18:00:00.000Z', moved: [{ payee: 'member:A9', amount: '9.00' }] }]);
  expect(first.get('D1')!.blocked).toBeNull();
  expect(first.get('B1')!.runs).toEqual([]);
  expect(first.get('B1')!.blocked).toMatchObject({ runId: 'R1', payee: 'member:B7' });
  expect(first.get('unknown')).toMatchObject({ line: null, runs: [], blocked: null, held: null });
  expect(linePaymentOf(first.get('D1')!, line('D1', A9, '9.00')).paid).toEqual([{ to: { kind: 'member' }, amount: '9.00', runId: 'R1', on: '2025-03-31', byOperator: false }]);
  expect(linePaymentOf(first.get('B1')!, line('B1', B7, '5.00')).waiting).toEqual([{ to: { kind: 'member' }, amount: '5.00', reason: 'no-account' }]);

  // B7 sends its RIB: the next run pays B1, D1 is not paid twice
  const B7withIban = { ...B7, iban: 'FR7630006000011234567890189' };
  await runPaymentStage({ bus, home, accounts: accountBook([A9, B7withIban]), runId: 'R2', at: '2025-04-01T18:00:00Z' });
  const second = await paymentFactsForStatement(home, ['D1', 'B1']);
  expect(second.get('D1')!.runs.map((r) => r.runId)).toEqual(['R1']);
  expect(second.get('B1')!.runs).toEqual([{ runId: 'R2', at: '2025-04-01T18:00:00.000Z', moved: [{ payee: 'member:B7', amount: '5.00' }] }]);
  expect(second.get('B1')!.blocked).toBeNull();
  expect(linePaymentOf(second.get('B1')!, line('B1', B7, '5.00'))).toEqual({ paid: [{ to: { kind: 'member' }, amount: '5.00', runId: 'R2', on: '2025-04-01', byOperator: false }], waiting: [] });
});

it('a home without payment state gives no facts (nothing is created)', async () => {
  expect(await paymentFactsForStatement(join(home, 'empty'), ['D1'])).toEqual(new Map());
});

it('a line in an order held for control is found held (its payee’s held order names it); the others of the family are not', async () => {
  await bus.produce('settlements', [{ value: line('H1', A9, '800.00') }, { value: line('H2', A9, '300.00') }, { value: line('S1', B7, '20.00') }]);
  // A9's order is 800.00 + 300.00 = 1 100.00, above the 1 000.00 ceiling: held; B7's 20.00 is paid
  const B7withIban = { ...B7, iban: 'FR7630006000011234567890189' };
  await runPaymentStage({ bus, home, accounts: accountBook([A9, B7withIban]), runId: 'R1', at: '2025-04-01T18:00:00Z', limits: { maxOrder: '1000.00', maxRun: '50000.00' } });
  const facts = await paymentFactsForStatement(home, ['H1', 'H2', 'S1']);
  expect(facts.get('H1')!.held).toEqual({ payee: 'member:A9', runId: 'R1', ceiling: 'order' });
  expect(facts.get('H2')!.held).toEqual({ payee: 'member:A9', runId: 'R1', ceiling: 'order' });
  expect(facts.get('S1')!.held).toBeNull();
  expect(linePaymentOf(facts.get('H1')!, line('H1', A9, '800.00')).waiting).toEqual([{ to: { kind: 'member' }, amount: '800.00', reason: 'held' }]);
  expect(linePaymentOf(facts.get('S1')!, line('S1', B7, '20.00')).waiting).toEqual([]);
});
