import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import type { ReconOutcome } from '../../src/model/reconciliation.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService, type ReconcileService } from '../../src/pipeline/reconcile-service.js';
import { publishTpClaims } from '../../src/pipeline/tp-claims-sink.js';
import { DAY, PS, claim, readAll, settlement, tempDir, writeTpClaimsCsv } from './stages-given.js';

/**
 * The reconcile service on the embedded bus: settlements on `settlements`, claims from a
 * tp_claims.csv through publishTpClaims, outcomes read back from `reconciliation`. One beneficiary
 * per case (the state is kept per NIR-rang), so every case is independent.
 */
const N = { matched: '1850375123456', indu: '2900175987654', held: '1700699000111', orphan: '2851244555666', annul: '1691233000123' };

let dir = '';
let cleanup: () => Promise<void>;
let bus: Bus;
let service: ReconcileService | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('recon-'));
  bus = await openEmbeddedBus({ dir: join(dir, 'bus') });
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await bus.close();
  await cleanup();
});

async function settle(): Promise<ReconOutcome[]> {
  await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 15_000);
  return readAll(bus, 'reconciliation');
}

// settlements and claims are two topics: a TP line may be delivered before its claim and be `held` first
const afterHold = (list: { kind: string }[]) => list.filter((o, i) => !(o.kind === 'held' && i < list.length - 1));
const of = (outcomes: ReconOutcome[], nir: string) => outcomes.filter((o) => o.beneficiary.nir === nir).map((o) => ({ kind: o.kind, payee: o.payee, amount: o.amount }));

async function givenTheCases(): Promise<void> {
  await bus.produce('settlements', [
    // GP consultation in tiers payant (tp 15), AMC part 19.00, claimed 19.00: matched, the professional is owed 19.00
    { value: settlement({ lineKey: 'noemie-1:D1:1', beneficiary: { nir: N.matched, rang: 1 } }) },
    // AMC part 19.00, claimed 25.00: indu of 25.00 − 19.00 = 6.00 against the professional
    { value: settlement({ lineKey: 'noemie-1:D2:1', beneficiary: { nir: N.indu, rang: 1 } }) },
    // tp 25 line, AMC part 12.40, no claim: held 12.40 (never paid to the member)
    { value: settlement({ lineKey: 'noemie-1:D3:1', beneficiary: { nir: N.held, rang: 1 }, tp: '25', amcAmount: '12.40' }) },
    // a member line (tp 00) paid 9.00 to family A005, then annulled by the RO (operation A, version 2): annulation-indu 9.00
    { value: settlement({ lineKey: 'noemie-1:D5:1', beneficiary: { nir: N.annul, rang: 1 }, adherentId: 'A005', tp: '00', payee: 'member', amcAmount: '9.00' }) },
    { value: settlement({ lineKey: 'noemie-1:D5:1', beneficiary: { nir: N.annul, rang: 1 }, adherentId: 'A005', tp: '00', payee: 'member', amcAmount: '9.00', operation: 'A', version: 2 }) },
  ]);
  const csv = join(dir, 'tp_claims.csv');
  await writeTpClaimsCsv(
    csv,
    [
      claim({ tpClaimId: 'C-M', nir: N.matched }),
      claim({ tpClaimId: 'C-I', nir: N.indu, amcAmountClaimed: '25.00' }),
      // no NOEMIE line will ever confirm it: exception after claimDays (30)
      claim({ tpClaimId: 'C-O', nir: N.orphan, amcAmountClaimed: '30.00' }),
    ],
    ['C-BAD;OPTP;751234567;123;1;2025-03-03;G;;19.00;'],
  );
  const published = await publishTpClaims(bus, csv);
  expect(published.claims).toBe(3);
  // the bad row (line 5 of the file: header + 3 claims + it) goes to rejects, naming the nir column
  expect(published.rejectedCount).toBe(1);
  expect(published.rejected[0]?.origin.record).toBe(5);
  const rejects = await readAll(bus, 'rejects');
  expect(rejects.map((r) => r.origin)).toEqual([{ file: 'tp_claims.csv', record: 5 }]);
  expect(rejects[0]?.issues.some((i) => i.path.includes('nir'))).toBe(true);
}

describe('reconcile service on the embedded bus', () => {
  it('publishes matched, indu, held and annulation-indu; exceptions only when a tick passes the delay', async () => {
    await givenTheCases();
    service = await startReconcileService({ bus });
    const first = await settle();
    expect(afterHold(of(first, N.matched))).toEqual([{ kind: 'matched', payee: `ps:${PS}`, amount: '19.00' }]);
    expect(afterHold(of(first, N.indu))).toEqual([{ kind: 'indu', payee: `ps:${PS}`, amount: '6.00' }]);
    expect(first.find((o) => o.kind === 'indu')?.owed).toBe('19.00');
    expect(of(first, N.held)).toEqual([{ kind: 'held', payee: null, amount: '12.40' }]);
    expect(of(first, N.annul)).toEqual([{ kind: 'annulation-indu', payee: 'member:A005', amount: '9.00' }]);
    expect(of(first, N.orphan)).toEqual([]);

    // 29 days later nothing is due yet (the delays are 30 days)
    expect(await service.tick(new Date(Date.now() + 29 * DAY).toISOString())).toEqual([]);
    const ticked = await service.tick(new Date(Date.now() + 31 * DAY).toISOString());
    expect(ticked.map((o) => [o.kind, o.beneficiary.nir, o.amount]).sort()).toEqual(
      [
        ['exception', N.held, '12.40'],
        ['exception', N.orphan, '30.00'],
      ].sort(),
    );
    // the alarm is raised once
    expect(await service.tick(new Date(Date.now() + 40 * DAY).toISOString())).toEqual([]);
    const all = await readAll(bus, 'reconciliation');
    expect(all).toHaveLength(first.length + 2);
  });

  it('rebuilds its state from the changelog: no outcome twice after a restart, deadlines survive it', async () => {
    await givenTheCases();
    service = await startReconcileService({ bus });
    const before = await settle();
    expect(service.keys).toBe(5);
    await service.stop();

    // the same claims file again (an operator resend) and a restart: nothing new to say
    await publishTpClaims(bus, join(dir, 'tp_claims.csv'));
    service = await startReconcileService({ bus });
    expect(service.keys).toBe(5);
    expect(await settle()).toHaveLength(before.length);

    // the held line and the orphan claim still wait for their deadline in the rebuilt state
    const ticked = await service.tick(new Date(Date.now() + 31 * DAY).toISOString());
    expect(ticked.map((o) => o.kind)).toEqual(['exception', 'exception']);
  });

  it('a late claim settles a held line; a lowered re-liquidation turns the match into an indu', async () => {
    const nir = N.held;
    await bus.produce('settlements', [{ value: settlement({ lineKey: 'noemie-1:D9:1', beneficiary: { nir, rang: 1 } }) }]);
    service = await startReconcileService({ bus });
    expect((await settle()).map((o) => o.kind)).toEqual(['held']);
    await bus.produce('tp-claims', [{ value: claim({ tpClaimId: 'C9', nir }) }]);
    expect((await settle()).map((o) => o.kind)).toEqual(['held', 'matched']);
    // replay after a grid correction: version 2 of the line is worth 15.00; the claim of 19.00 is 4.00 too much
    await bus.produce('settlements', [{ value: settlement({ lineKey: 'noemie-1:D9:1', beneficiary: { nir, rang: 1 }, amcAmount: '15.00', version: 2 }) }]);
    const last = (await settle()).at(-1);
    expect([last?.kind, last?.version, last?.amount, last?.owed]).toEqual(['indu', 2, '4.00', '15.00']);
  });
});
