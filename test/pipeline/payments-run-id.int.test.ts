import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { loadPaymentsState } from '../../src/pipeline/payments-store.js';
import { accounts, settlements } from './bank-returns-given.js';
import { readAll, withEmbeddedHome } from './stages-given.js';

/**
 * Run ids (README, "Payment runs"): without `--run-id` a run is named after its cut-off's second
 * (run-20250331T180000Z); a second run with the same cut-off second is a NEW run, suffixed -2, -3…
 * (it pays what is new), never a silent "already ran". An id the operator names is idempotent: the
 * same id twice is "already ran" and pays nothing.
 * Given: A1 25.00 and A2 40.50 settled before the first run, A3 12.30 between the runs.
 */
let home = '';
let bus: Bus;
withEmbeddedHome('run-id-', (h, b) => ((home = h), (bus = b)));

const AT = '2025-03-31T18:00:00Z';
const [A1, A2, A3] = settlements();

describe('payment run ids', () => {
  it('two runs with the same cut-off and no run id: the second is run-…-2 and pays the settlements that came in between', async () => {
    await bus.produce('settlements', [{ value: A1! }, { value: A2! }]);
    const first = await runPaymentStage({ bus, home, accounts: accounts(), at: AT });
    expect([first.runId, first.alreadyRun]).toEqual(['run-20250331T180000Z', false]);
    expect(first.orders.map((o) => [o.payee, o.amount])).toEqual([['member:A1', '25.00'], ['member:A2', '40.50']]);

    await bus.produce('settlements', [{ value: A3! }]);
    // a dry run names the run a real one would make now
    const dry = await runPaymentStage({ bus, home, accounts: accounts(), at: AT, dryRun: true });
    expect([dry.runId, dry.alreadyRun, dry.orders.map((o) => o.payee)]).toEqual(['run-20250331T180000Z-2', false, ['member:A3']]);
    const second = await runPaymentStage({ bus, home, accounts: accounts(), at: AT });
    expect([second.runId, second.alreadyRun]).toEqual(['run-20250331T180000Z-2', false]);
    expect(second.orders.map((o) => [o.paymentId, o.amount])).toEqual([['run-20250331T180000Z-2:member:A3', '12.30']]);
    expect(second.sepaFiles).toHaveLength(1);
    expect(second.runDir).toBe(join(home, 'payments', 'run-20250331T180000Z-2'));

    // a third in the same second with nothing new: -3, nothing to pay
    const third = await runPaymentStage({ bus, home, accounts: accounts(), at: AT });
    expect([third.runId, third.alreadyRun, third.orders]).toEqual(['run-20250331T180000Z-3', false, []]);
    expect(Object.keys((await loadPaymentsState(home)).ledger.runs).sort()).toEqual(['run-20250331T180000Z', 'run-20250331T180000Z-2', 'run-20250331T180000Z-3']);
    // each line paid once: 25.00 + 40.50 + 12.30 on the topic (read partition by partition: sorted)
    expect((await readAll(bus, 'payment-orders')).map((o) => [o.runId, o.payee, o.amount]).sort((a, b) => (a.join() < b.join() ? -1 : 1))).toEqual([
      ['run-20250331T180000Z', 'member:A1', '25.00'], ['run-20250331T180000Z', 'member:A2', '40.50'], ['run-20250331T180000Z-2', 'member:A3', '12.30'],
    ]);
  });

  it('an explicit run id twice is "already ran": the second pays nothing, even with new settlements (the next run id pays them)', async () => {
    await bus.produce('settlements', [{ value: A1! }]);
    expect((await runPaymentStage({ bus, home, accounts: accounts(), at: AT, runId: 'R1' })).orders).toHaveLength(1);
    await bus.produce('settlements', [{ value: A3! }]);
    const again = await runPaymentStage({ bus, home, accounts: accounts(), at: AT, runId: 'R1' });
    expect([again.runId, again.alreadyRun, again.orders, again.sepaFiles]).toEqual(['R1', true, [], []]);
    const next = await runPaymentStage({ bus, home, accounts: accounts(), at: AT, runId: 'R2' });
    expect(next.orders.map((o) => [o.payee, o.amount])).toEqual([['member:A3', '12.30']]);
  });
});
