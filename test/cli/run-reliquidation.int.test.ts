import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import {
  NEW_START, RESILIATION, dropBackdatedFeed, expectArrivedPaid, expectFeedApplied, expectFirstRunLines,
  expectOnlyTheirLinesChanged, expectSecondPaymentRun, expectThirdRunIdle, firstRunLines,
} from './run-backdated-feed.js';
import { latest, ordersOf, runOnceOk, settlementsOf, tempHome } from './run-support.js';

/**
 * Issue 10, end to end through `noemie run --once` on the embedded bus: membership events applied →
 * requestReliquidation → the liquidation service re-decides → the payment run pays / recovers the
 * difference. No piece is called directly: the feed is a file in the inbox, as a user drops it.
 */
describe('noemie run --once: a back-dated members feed after a paid sample run', () => {
  it('re-decides the lines the events change, recovers what was paid after the résiliation, pays what is now covered, then nothing more', async () => {
    const home = await tempHome('run-reliq-');
    // Given the sample run once, paid
    const first = await runOnceOk(home, '--sample');
    expect(first.out).toMatch(/payment run \S+: \d+ orders/);
    const before = latest(await settlementsOf(home));
    const lines = firstRunLines([...before.values()]);
    const { resiliated, inReview, rejectedBeforeStart } = lines;
    // The sample today: ADH0000003 has 2 lines on or after 2025-06-02, both paid to the member
    // (2025-07-31 biology 3.78, 2025-11-07 osteodensitometry 11.99) and 2025-06-01's two TP lines before;
    // the unknown NIR has 1 line in review; ADH0000006's holder has 5 lines rejected before 2024-08-01
    // (one paid to the member, four tiers payant to ps:943701066). If the sample changes, these counts say so.
    expect(resiliated.map((s) => [s.careDate, s.status, s.payee, s.amcAmount])).toEqual([
      ['2025-07-31', 'paid', 'member', '3.78'],
      ['2025-11-07', 'paid', 'member', '11.99'],
    ]);
    expectFirstRunLines(lines);
    for (const s of rejectedBeforeStart) expect(s.reason).toMatch(/before the affiliation start 2024-08-01/);
    // the amount to recover, by hand: 3.78 + 11.99 = 15.77 (what the first run paid for those lines)
    const toRecover = resiliated.reduce((t, s) => t.plus(s.amcAmount), new Decimal(0));
    expect(toRecover.toFixed(2)).toBe('15.77');

    // When a members feed brings the back-dated events and the job runs again
    await dropBackdatedFeed(home);
    const second = await runOnceOk(home);
    // 2 résiliated + 1 arrival + 5 covered again = 8 new versions; nothing else of the families changes
    expectFeedApplied(second.out);

    const all = await settlementsOf(home);
    const after = latest(all);
    expectOnlyTheirLinesChanged(before, after, lines);

    // Then the résiliated lines are rejected, version 2, carrying the event
    for (const s of resiliated) {
      expect(after.get(s.lineKey)).toMatchObject({
        version: s.version + 1, status: 'rejected', amcAmount: '0.00',
        reliquidation: { eventId: 'ev-resil-3', type: 'affiliation_end', effectiveDate: RESILIATION },
      });
    }
    // the line left in review is paid once its member exists
    const arrived = expectArrivedPaid(after, inReview);
    // the lines rejected before the old start are decided again under the new one
    for (const s of rejectedBeforeStart) {
      expect(after.get(s.lineKey)).toMatchObject({ version: 2, status: 'paid', reliquidation: { eventId: 'ev-start-6', type: 'affiliation_start', effectiveDate: NEW_START } });
    }

    // and the payment run recovers exactly what was paid for the rejected lines, pays the arrival to
    // the account its event gave, pays nothing to a family the events do not touch, and the statement says why…
    const orders = await ordersOf(second.out);
    await expectSecondPaymentRun(home, orders, resiliated, arrived, toRecover);
    // …pays the newly covered member line of ADH0000006…
    const memberLine6 = rejectedBeforeStart.filter((s) => s.payee === 'member').map((s) => after.get(s.lineKey)!);
    expect(memberLine6).toHaveLength(1);
    expect(orders.find((o) => o.payee === 'member:ADH0000006')).toMatchObject({ kind: 'payment', amount: memberLine6[0]!.amcAmount });
    // …and the tiers-payant lines of ADH0000006, now covered, are owed to their professional net of
    // what the first run recovered from it (the operator had paid claims 2–4, 136.64 + 169.16 + 6.40 =
    // 312.20, against an entitlement of 0): 99.97 + 124.97 + 124.97 + 6.00 = 355.91 − 312.20 = 43.71,
    // blocked (the sample's professionals.csv has no account for ps:943701066), its lines stay due
    const firstPs = (await ordersOf(first.out)).find((o) => o.payee === 'ps:943701066');
    expect(firstPs).toMatchObject({ kind: 'recovery', amount: '312.20' });
    const tpOwed = rejectedBeforeStart.filter((s) => s.payee === 'ps:943701066').reduce((t, s) => t.plus(after.get(s.lineKey)!.amcAmount), new Decimal(0));
    expect(tpOwed.toFixed(2)).toBe('355.91');
    expect(second.out).toContain(`blocked: ps:943701066 ${tpOwed.minus(firstPs!.amount).toFixed(2)}: ps:943701066: no account known`);
    expect(second.out).toContain(`recovery: member:ADH0000003 ${toRecover.toFixed(2)} (debt carried ${toRecover.toFixed(2)})`);

    // A third run changes nothing: no event, no settlement, no order
    const third = await runOnceOk(home);
    expectThirdRunIdle(third.out);
    expect((await settlementsOf(home)).length).toBe(all.length);
  }, 180_000);
});
