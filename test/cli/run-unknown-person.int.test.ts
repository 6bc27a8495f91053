import { describe, expect, it } from 'vitest';
import { expectNothingNew, FEED_IBAN, gpLine, holderCreated, homeWithReference, latest, nirOf, ordersOf, runOnceOk, settlementsOf, versionsOf, writeDrop, writeFeed } from './run-support.js';

/**
 * A line kept under the member number it names (its person unknown), when the person then joins
 * ANOTHER family (issue 10). The person P (NIR nirOf(21)) is unknown at the first run; the line
 * names the member number U0021 (a card of a family P never joins). The next day's feed creates
 * the family K0021 with P as its holder (CCN-HLA-BASE since 2024-01-01).
 * The line must be decided under K0021 as its next version (its version 1 was the review under
 * U0021), never a second version 1: before the fix it stayed in U0021's ledger, so a request for
 * K0021 did not see it, and the line sent again corrected became a version 1 in K0021's ledger
 * (dropped downstream as a copy of the review's version 1, or paid beside it).
 * Hand computation of the corrected line (GP consultation G, OPTAM, BR 30.00, RO 70 % = 21.00,
 * billed 50.00), CCN-HLA-BASE Généralistes 100 % BR: G = 30.00, AMC = min(30.00 − 21.00, 50.00 − 21.00) = 9.00.
 */
describe('noemie run --once: a line in review under the member number it names, its person joining another family', () => {
  it('is decided once under the person\'s family: its next version, never a second version 1, paid once when sent corrected', async () => {
    const { home, inbox } = await homeWithReference('run-unknown-');
    // one known family, so the home has members (the person P is not among them)
    await writeFeed(inbox, 'members-day1.csv', [holderCreated('K0001', nirOf(1), 'CCN-HLA-BASE')]);
    await writeDrop(inbox, 'drop-unknown.csv', [gpLine('UNKN0001', nirOf(21), 'U0021', '2025-03-10')]);

    // Given the line left in review, under the number it names
    await runOnceOk(home);
    const v1 = versionsOf(await settlementsOf(home), 'UNKN0001');
    expect(v1.map((s) => [s.version, s.status, s.amcAmount])).toEqual([[1, 'review', '0.00']]);
    expect(v1[0]!.reason).toMatch(/unknown beneficiary/);

    // When the person joins another family, K0021
    await writeFeed(inbox, 'members-day2.csv', [holderCreated('K0021', nirOf(21), 'CCN-HLA-BASE')]);
    const second = await runOnceOk(home);

    // Then the line is decided under K0021, once: version 2 names the family, and since the line
    // names another member number, the engine's reading of a number that disagrees with the
    // membership applies (review, "check the membership before paying"); nothing is paid
    expect(second.out).toMatch(/members: 1 membership event\(s\) applied, 0 already applied, 2 families in the store; 2 re-liquidation request\(s\)/);
    expect(second.out).toMatch(/liquidation: 0 lines, 1 settlements published/);
    const all = await settlementsOf(home);
    const versions = versionsOf(all, 'UNKN0001');
    expect(versions.map((s) => [s.version, s.status, s.adherentId, s.amcAmount])).toEqual([
      [1, 'review', null, '0.00'],
      [2, 'review', 'K0021', '0.00'],
    ]);
    expect(versions[1]!.reason).toMatch(/member number U0021 on the line disagrees with the membership file, where this beneficiary \(rang 1\) belongs to adhérent K0021/);
    expect(versions[1]!.reliquidation).toEqual({ eventId: 'ev-created-K0021', type: 'family_created', effectiveDate: '2024-01-01' });
    expect(await ordersOf(second.out)).toEqual([]);

    // When the line is sent again corrected (same décompte line, the member number K0021): it is
    // the line's next version in K0021's ledger — not a second version 1 — paid 9.00, once
    await writeDrop(inbox, 'drop-corrected.csv', [gpLine('UNKN0001', nirOf(21), 'K0021', '2025-03-10')]);
    const third = await runOnceOk(home);
    const corrected = versionsOf(await settlementsOf(home), 'UNKN0001');
    expect(corrected.map((s) => [s.version, s.status, s.adherentId, s.amcAmount])).toEqual([
      [1, 'review', null, '0.00'],
      [2, 'review', 'K0021', '0.00'],
      [3, 'paid', 'K0021', '9.00'],
    ]);
    expect((await ordersOf(third.out)).map((o) => [o.payee, o.kind, o.amount, o.iban])).toEqual([['member:K0021', 'payment', '9.00', FEED_IBAN]]);

    // A fourth run changes nothing: no settlement, no order
    const fourth = await runOnceOk(home);
    expectNothingNew(fourth.out);
    expect(latest(await settlementsOf(home)).get(versions[0]!.lineKey)!.version).toBe(3);
  }, 180_000);
});
