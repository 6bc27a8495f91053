import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNoemie } from '../support/cli.js';
import { FEED_IBAN, gpLine, holderCreated, latest, nirOf, ordersOf, settlementsOf, versionsOf, writeDrop, writeFeed } from './run-support.js';

const run = runNoemie;

/**
 * A line kept under the member number it names (its person unknown), when the person then joins
 * ANOTHER family (issue 10). The person P (NIR nirOf(21)) is unknown at the first run; the line
 * names the member number U0021 (a card of a family P never joins). The next day's feed creates
 * the family K0021 with P as its holder (CCN-HLA-BASE since 2024-01-01).
 * Hand computation (GP consultation G, OPTAM, BR 30.00, RO 70 % = 21.00, billed 50.00):
 * CCN-HLA-BASE Généralistes 100 % BR: G = 30.00, AMC = min(30.00 − 21.00, 50.00 − 21.00) = 9.00.
 * The line must be decided once under K0021: version 2 (its version 1 was the review under U0021),
 * paid 9.00 to K0021's account, and no version 1 again, nothing twice.
 */
describe('noemie run --once: a line in review under the member number it names, its person joining another family', () => {
  it('is decided once under the person\'s family: version 2 paid 9.00, no second version 1, then nothing more', async () => {
    const home = await mkdtemp(join(tmpdir(), 'run-unknown-'));
    try {
      const inbox = join(home, 'inbox');
      await mkdir(inbox, { recursive: true });
      const imported = await run(['reference', 'import', '--home', home, '--sample']);
      expect(imported.code, imported.err).toBe(0);
      // one known family, so the home has members (the person P is not among them)
      await writeFeed(inbox, 'members-day1.csv', [holderCreated('K0001', nirOf(1), 'CCN-HLA-BASE')]);
      await writeDrop(inbox, 'drop-unknown.csv', [gpLine('UNKN0001', nirOf(21), 'U0021', '2025-03-10')]);

      // Given the line left in review, under the number it names
      const first = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1']);
      expect(first.code, first.out + first.err).toBe(0);
      const v1 = versionsOf(await settlementsOf(home), 'UNKN0001');
      expect(v1.map((s) => [s.version, s.status, s.amcAmount])).toEqual([[1, 'review', '0.00']]);
      expect(v1[0]!.reason).toMatch(/unknown beneficiary/);

      // When the person joins another family, K0021
      await writeFeed(inbox, 'members-day2.csv', [holderCreated('K0021', nirOf(21), 'CCN-HLA-BASE')]);
      const second = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1']);
      expect(second.code, second.out + second.err).toBe(0);

      // Then the line is decided under K0021: version 2, paid 9.00, once
      const all = await settlementsOf(home);
      const versions = versionsOf(all, 'UNKN0001');
      expect(versions.map((s) => [s.version, s.status, s.adherentId, s.amcAmount])).toEqual([
        [1, 'review', null, '0.00'],
        [2, 'paid', 'K0021', '9.00'],
      ]);
      expect(versions[1]!.reliquidation).toMatchObject({ eventId: 'ev-created-K0021', type: 'family_created', effectiveDate: '2024-01-01' });
      const orders = await ordersOf(second.out);
      expect(orders.map((o) => [o.payee, o.kind, o.amount, o.iban])).toEqual([['member:K0021', 'payment', '9.00', FEED_IBAN]]);

      // A third run changes nothing
      const third = await run(['run', '--once', '--home', home, '--stable-ms', '0', '--workers', '1']);
      expect(third.code, third.out + third.err).toBe(0);
      expect(third.out).toMatch(/liquidation: 0 lines, 0 settlements published/);
      expect(third.out).toMatch(/payment run \S+: 0 orders/);
      expect(latest(await settlementsOf(home)).get(versions[0]!.lineKey)!.version).toBe(2);
      expect((await settlementsOf(home)).length).toBe(all.length);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 180_000);
});
