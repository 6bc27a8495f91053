import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus, BusRecord } from '../../src/bus/bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { lineRecord } from '../../src/engine/index.js';
import { accountBook } from '../../src/payments/index.js';
import { loadFamilies } from '../../src/pipeline/ledgers.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { loadReference } from '../../src/pipeline/reference.js';
import { StatementIndex, updateStatementIndex } from '../../src/pipeline/statement-index.js';
import { renderStatementText, statementData } from '../../src/statement/index.js';
import { replay } from '../../src/pipeline/replay.js';
import { requestReliquidation, type ReliquidationRequest } from '../../src/pipeline/reliquidation-requests.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService } from '../../src/pipeline/reconcile-service.js';
import { PS, claim } from './stages-given.js';
import { dedupe, readTopic, spawnService, until, waitIdle } from './liquidation-support.js';
import type { PipelineBusWorld } from './liquidation-suite.js';
import { consultation, IBAN, keyOf, member, Members, nirOf, osteopathy, publishLines, referenceWith, writeMembers } from './reliquidation-support.js';
import { nirKey } from '../../src/model/act-line.js';
import type { BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { MembershipEventSchema, type MembershipEvent } from '../../src/model/membership.js';
import { MembershipStore, membershipAccountBook } from '../../src/pipeline/membership-store.js';

/**
 * Re-liquidation end to end (README "Re-liquidation"), on the embedded bus and on a Kafka-protocol
 * broker: lines liquidated and paid, the membership changed with a date in the past, a request
 * published; the service publishes new versions of exactly the lines that change, each with the
 * request's reason, and the payment stage pays or recovers the difference.
 */
export function defineReliquidationSuite(w: PipelineBusWorld, options: { only?: readonly string[] } = {}): void {
  const runs = (name: string) => !options.only || options.only.includes(name);

  describe(`${w.kind}: re-liquidation`, () => {
    const buses: Bus[] = [];
    const dirs: string[] = [];
    let reference: Awaited<ReturnType<typeof referenceWith>>['reference'];
    const open = async (ns: string) => {
      const bus = await w.open(ns);
      buses.push(bus);
      return bus;
    };
    const close = async (bus: Bus) => {
      buses.splice(buses.indexOf(bus), 1);
      await bus.close();
    };
    beforeAll(async () => {
      const made = await referenceWith([]);
      dirs.push(made.dir);
      reference = made.reference;
    });
    afterAll(async () => {
      await Promise.all(buses.map((b) => b.close()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    });

    /** The service (in this thread) run until the group has no lag, then stopped. */
    async function liquidate(bus: Bus, members: Members | BeneficiaryIndex, groupId?: string) {
      const service = await LiquidationService.start({ bus, beneficiaries: members instanceof Members ? members.live : members, reference, workers: 0, ...(groupId ? { groupId } : {}) });
      await waitIdle(bus, 90_000, groupId);
      await service.stop();
      return service.stats;
    }
    const payments = async (bus: Bus, home: string, members: Members, runId: string, at: string) =>
      runPaymentStage({ bus, home, accounts: accountBook(members.current), runId, at });
    const latest = (records: readonly BusRecord<'settlements'>[], lineKey: string) =>
      records.filter((r) => r.value.lineKey === lineKey).sort((a, b) => b.value.version - a.value.version)[0]!.value;
    const PS_IBAN = 'FR1420041010050500013M02606';
    async function reconcile(bus: Bus) {
      const service = await startReconcileService({ bus });
      try {
        await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 60_000);
      } finally {
        await service.stop();
      }
    }
    const home = async () => {
      const d = await mkdtemp(join(tmpdir(), 'noemie-reliq-home-'));
      dirs.push(d);
      return d;
    };

    it.runIf(runs('résiliation'))('back-dated résiliation: the lines after the end date become rejected, the payment stage recovers exactly what they were paid', async () => {
      // Given family R001 covered by CCN-HLA-BASE since 2024-01-01, open-ended, and three GP
      // consultations liquidated and paid: 03-10 (9.00), 05-12 (9.00), 06-20 (expense 25.00: 4.00).
      const nir = nirOf(1);
      const members = new Members([member('R001', nir)]);
      const bus = await open(await w.fresh());
      const payHome = await home();
      await publishLines(bus, [
        consultation({ family: 'R001', nir, decompte: 'R1', care: '2025-03-10' }),
        consultation({ family: 'R001', nir, decompte: 'R2', care: '2025-05-12' }),
        consultation({ family: 'R001', nir, decompte: 'R3', care: '2025-06-20', expense: '25.00' }),
      ]);
      await liquidate(bus, members);
      const first = await payments(bus, payHome, members, 'P1', '2025-07-01T18:00:00Z');
      // 9.00 + 9.00 + 4.00 = 22.00 to the family
      expect(first.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([['member:R001', 'payment', '22.00']]);
      const before = await readTopic(bus, 'settlements');
      expect(before).toHaveLength(3);

      // When the résiliation is back-dated to 2025-04-30 and a request asks for the lines from 05-01
      members.change(nir, { end: '2025-04-30' });
      const request: ReliquidationRequest = { requestId: 'q1', adherentId: 'R001', from: '2025-05-01', reason: { eventId: 'ev-7', type: 'affiliation_end', effectiveDate: '2025-04-30' } };
      await requestReliquidation(bus, [request]);
      const stats = await liquidate(bus, members);

      // Then R2 and R3 are version 2, rejected, nothing paid, carrying the reason; R1 (before the end) gets nothing new
      const after = await readTopic(bus, 'settlements');
      const fresh = after.slice(0).filter((r) => !before.some((b) => b.partition === r.partition && b.offset === r.offset)).map((r) => r.value);
      expect(fresh.map((s) => [s.lineKey, s.version, s.status, s.amcAmount]).sort()).toEqual([
        [keyOf('R2'), 2, 'rejected', '0.00'],
        [keyOf('R3'), 2, 'rejected', '0.00'],
      ]);
      for (const s of fresh) {
        expect(s.reliquidation).toEqual(request.reason);
        expect(s.reason).toContain('2025-04-30');
      }
      expect(stats).toMatchObject({ requests: 1, redecided: 2, published: 2 });
      // The request's partition watermark is in the family's head, like the lines'
      const families = await loadFamilies(bus, new Set(['R001']));
      const request0 = (await readTopic(bus, 'reliquidations'))[0]!;
      expect(families.get('R001')!.applied[`reliquidations:${partitionFor('R001')}`]).toBe(request0.offset);
      expect(lineRecord(families.get('R001')!.state, keyOf('R3'))).toMatchObject({ version: 2, status: 'rejected' });

      // And the payment stage recovers 9.00 + 4.00 = 13.00 from the family, line by line
      const second = await payments(bus, payHome, members, 'P2', '2025-07-08T18:00:00Z');
      expect(second.orders.map((o) => ({ payee: o.payee, kind: o.kind, amount: o.amount, lines: [...o.lines].sort((a, b) => a.lineKey.localeCompare(b.lineKey)) }))).toEqual([
        { payee: 'member:R001', kind: 'recovery', amount: '13.00', lines: [{ lineKey: keyOf('R2'), version: 2, amount: '-9.00' }, { lineKey: keyOf('R3'), version: 2, amount: '-4.00' }] },
      ]);

      // And the member's statement, read from the statement index, says why the two lines changed
      const statements = await StatementIndex.open(await home());
      try {
        await updateStatementIndex(bus, statements);
        const period = { adherentId: 'R001', from: '2025-01-01', to: '2025-12-31' };
        const text = renderStatementText(statementData(period, await statements.settlementsIn(period), members.current));
        expect(text).toContain('Régularisations :\n  12/05/2025 G: régularisation suite à résiliation du 30/04/2025\n  20/06/2025 G: régularisation suite à résiliation du 30/04/2025\n');
      } finally {
        await statements.close();
      }

      // The same request published again: every re-decision equals the recorded version, nothing published
      await requestReliquidation(bus, [request]);
      const again = await liquidate(bus, members);
      expect(again).toMatchObject({ requests: 1, redecided: 2, published: 0 });
      expect((await readTopic(bus, 'settlements')).length).toBe(after.length);
      // Redelivered (a new group reads the topics from the start): the 3 lines and the first request
      // are at or below the family's watermarks, skipped; the redelivered request publishes its
      // outbox again (R2 and R3 v2, identical copies: it cannot know whether they went out before a
      // crash); the duplicate, which changed nothing and so wrote no watermark (like an unchanged
      // line), is decided again and publishes nothing
      const redelivered = await liquidate(bus, members, 'liquidation-redelivery');
      expect(redelivered).toMatchObject({ redelivered: 3 + 1, requests: 1, redecided: 2, published: 2, snapshots: 0 });
      const final = await readTopic(bus, 'settlements');
      expect(final.length).toBe(after.length + 2);
      expect([...dedupe(final).keys()].sort()).toEqual([...dedupe(after).keys()].sort());

      // An ops replay of the partition after the résiliation is cancelled (end date cleared): the
      // two lines go back to paid as version 3, and the diff names the cause of the version replaced
      members.change(nir, { end: null });
      const dry = await replay({ bus, topic: 'decompte-lines', partition: partitionFor('R001'), from: 0, dryRun: true, beneficiaries: members.live, reference: await loadReference(reference) });
      expect(dry.changed.map((d) => [d.lineKey, d.version, d.amc, d.replaces]).sort()).toEqual([
        [keyOf('R2'), { from: 2, to: 3 }, { from: '0.00', to: '9.00' }, request.reason],
        [keyOf('R3'), { from: 2, to: 3 }, { from: '0.00', to: '4.00' }, request.reason],
      ]);
      await close(bus);
    }, 240_000);

    it.runIf(runs('tiers-payant'))('back-dated résiliation of a tiers-payant line: reconciliation judges the claim against the new version, the professional owes back what was paid', async () => {
      // Given family T001 and a consultation on 2025-05-12 in tiers payant (tp 15, to professional PS):
      // AMC 9.00, claimed 9.00 by the operator → matched, paid to the professional
      const nir = nirOf(4);
      const members = new Members([member('T001', nir)]);
      const bus = await open(await w.fresh());
      const payHome = await home();
      const accounts = accountBook(members.current, { [PS]: { iban: PS_IBAN, bic: 'BNPAFRPPXXX', name: 'Cabinet Dr Dupont' } });
      await publishLines(bus, [{ ...consultation({ family: 'T001', nir, decompte: 'T1', care: '2025-05-12' }), tp: '15', psId: PS }]);
      await bus.produce('tp-claims', [{ value: claim({ tpClaimId: 'CT1', nir, careDate: '2025-05-12', psId: PS, amcAmountClaimed: '9.00' }) }]);
      await liquidate(bus, members);
      await reconcile(bus);
      const first = await runPaymentStage({ bus, home: payHome, accounts, runId: 'P1', at: '2025-05-20T18:00:00Z' });
      expect(first.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([[`ps:${PS}`, 'payment', '9.00']]);

      // When the résiliation is back-dated to 2025-04-30
      members.change(nir, { end: '2025-04-30' });
      await requestReliquidation(bus, [{ requestId: 'qt', adherentId: 'T001', from: '2025-05-01', reason: { eventId: 'ev-t', type: 'affiliation_end', effectiveDate: '2025-04-30' } }]);
      await liquidate(bus, members);
      await reconcile(bus);

      // Then version 2 is rejected, reconciliation speaks for version 2, and the 9.00 paid is recovered from the professional
      expect(latest(await readTopic(bus, 'settlements'), keyOf('T1'))).toMatchObject({ version: 2, status: 'rejected', amcAmount: '0.00' });
      const outcomes = (await readTopic(bus, 'reconciliation')).map((r) => r.value).filter((o) => o.lineKey === keyOf('T1') && o.version === 2);
      // claimed 9.00 for an entitlement of 0.00: 9.00 indu against the professional, owed 0.00
      expect(outcomes.map((o) => [o.kind, o.amount, o.entitled, o.owed])).toEqual([['indu', '9.00', '0.00', '0.00']]);
      const second = await runPaymentStage({ bus, home: payHome, accounts, runId: 'P2', at: '2025-05-27T18:00:00Z' });
      expect(second.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([[`ps:${PS}`, 'recovery', '9.00']]);
      await close(bus);
    }, 240_000);

    it.runIf(runs('counters'))('back-dated suspension: counters move by the difference, in the order the lines arrived', async () => {
      // Given family C001 and five osteopathy sessions on the 15th of January to May 2025: the first
      // four are paid 30.00 each, the fifth gets nothing (4 sessions a year)
      const nir = nirOf(5);
      const members = new Members([member('C001', nir)]);
      const bus = await open(await w.fresh());
      // (invoice numbers run backwards, so neither key nor bucket order is the order of arrival)
      const sessions = [1, 2, 3, 4, 5].map((m) => osteopathy({ family: 'C001', nir, invoice: `O${6 - m}`, care: `2025-0${m}-15` }));
      await publishLines(bus, sessions);
      await liquidate(bus, members);
      const v1 = (await readTopic(bus, 'settlements')).map((r) => r.value);
      expect(v1.map((s) => [s.lineKey, s.status, s.amcAmount])).toEqual([
        ['invoice:O5:1', 'paid', '30.00'], ['invoice:O4:1', 'paid', '30.00'], ['invoice:O3:1', 'paid', '30.00'], ['invoice:O2:1', 'paid', '30.00'], ['invoice:O1:1', 'zero', '0.00'],
      ]);

      // When a suspension for February is recorded after the fact, and a request asks from 02-01
      members.change(nir, { suspended: [{ from: '2025-02-01', to: '2025-02-28' }] });
      const reason = { eventId: 'ev-s', type: 'suspension', effectiveDate: '2025-02-01' };
      await requestReliquidation(bus, [{ requestId: 'qs', adherentId: 'C001', from: '2025-02-01', reason }]);
      const stats = await liquidate(bus, members);

      // Then the February session is rejected and gives its count back (4 → 3); March and April
      // decide as before (nothing published); May now takes the fourth place (3 → 4) and is paid 30.00
      const fresh = (await readTopic(bus, 'settlements')).map((r) => r.value).slice(v1.length);
      const counter = `CCN-HLA-BASE|${nir}-1|divers.medecine_preventive|count|2025`;
      expect(fresh.map((s) => [s.lineKey, s.version, s.status, s.amcAmount, s.counters])).toEqual([
        ['invoice:O4:1', 2, 'rejected', '0.00', [{ key: counter, before: '4', after: '3' }]],
        ['invoice:O1:1', 2, 'paid', '30.00', [{ key: counter, before: '3', after: '4' }]],
      ]);
      expect(fresh.every((s) => s.reliquidation?.eventId === 'ev-s')).toBe(true);
      expect(stats).toMatchObject({ requests: 1, redecided: 4, unchanged: 2, published: 2 });
      const ledger = (await loadFamilies(bus, new Set(['C001']))).get('C001')!.state;
      expect(ledger.counters[counter]).toBe('4');
      await close(bus);
    }, 240_000);

    it.runIf(runs('crash-moved'))('a crash between the new versions and the ledger, the membership moving before the restart: downstream and ledger still agree', async () => {
      // Given family M001 with a consultation on 2025-05-12 paid 9.00 (version 1)
      const nir = nirOf(6);
      const members = new Members([member('M001', nir)]);
      const bus = await open(await w.fresh());
      await publishLines(bus, [consultation({ family: 'M001', nir, decompte: 'M1', care: '2025-05-12' })]);
      await liquidate(bus, members);

      // When a résiliation back-dated to 2025-04-30 is re-liquidated, and the process dies after
      // writing one of the two (settlements, ledger) and before the other (the bus refuses the second)
      members.change(nir, { end: '2025-04-30' });
      await requestReliquidation(bus, [{ requestId: 'qm', adherentId: 'M001', from: '2025-05-01', reason: { eventId: 'ev-m1', type: 'affiliation_end', effectiveDate: '2025-04-30' } }]);
      let produced = 0;
      const dying: Bus = Object.create(bus, {
        produce: { value: async (topic: string, messages: readonly unknown[]) => {
          if ((topic === 'settlements' || topic === 'counters-changelog') && ++produced === 2) throw new Error('killed between the two writes');
          return (bus.produce as (t: string, m: readonly unknown[]) => Promise<void>)(topic, messages);
        } },
      });
      const crashed = await LiquidationService.start({ bus: dying, beneficiaries: members.live, reference, workers: 0 });
      await expect(crashed.done).rejects.toThrow('killed between the two writes');
      await crashed.stop();
      // and, before the restart, the résiliation is corrected to 2025-05-31 (the line is covered
      // again), and a new line of the family arrives (the embedded bus hands it over before the
      // redelivered request: its ledger write must not drop what the request decided)
      members.change(nir, { end: '2025-05-31' });
      await publishLines(bus, [consultation({ family: 'M001', nir, decompte: 'M2', care: '2025-05-20' })]);
      await liquidate(bus, members);
      // and the membership store asks again for that event, as it does for every applied event
      await requestReliquidation(bus, [{ requestId: 'qm2', adherentId: 'M001', from: '2025-05-01', reason: { eventId: 'ev-m2', type: 'affiliation_end', effectiveDate: '2025-05-31' } }]);
      await liquidate(bus, members);

      // Then every version has one content, none is missing, and the latest one downstream is the one the ledger holds
      const all = await readTopic(bus, 'settlements');
      const versions = [...dedupe(all).values()].filter((x) => x.lineKey === keyOf('M1')).map((x) => x.version).sort();
      expect(versions).toEqual([1, 2, 3]);
      const ledger = lineRecord((await loadFamilies(bus, new Set(['M001']))).get('M001')!.state, keyOf('M1'))!;
      const last = latest(all, keyOf('M1'));
      expect([last.version, last.status, last.amcAmount]).toEqual([ledger.version, ledger.status, ledger.amcAmount]);
      // covered again on 05-12: paid 9.00
      expect(last).toMatchObject({ status: 'paid', amcAmount: '9.00' });
      await close(bus);
    }, 240_000);

    it.runIf(runs('affiliation'))('back-dated affiliation start: lines rejected for no cover are paid', async () => {
      // Given family S001 affiliated from 2025-06-01, and two consultations before that: rejected
      const nir = nirOf(2);
      const members = new Members([member('S001', nir, { start: '2025-06-01' })]);
      const bus = await open(await w.fresh());
      const payHome = await home();
      await publishLines(bus, [
        consultation({ family: 'S001', nir, decompte: 'S1', care: '2025-03-10' }),
        consultation({ family: 'S001', nir, decompte: 'S2', care: '2025-04-15', expense: '25.00' }),
      ]);
      await liquidate(bus, members);
      const v1 = await readTopic(bus, 'settlements');
      expect(v1.map((r) => [r.value.lineKey, r.value.status, r.value.amcAmount]).sort()).toEqual([[keyOf('S1'), 'rejected', '0.00'], [keyOf('S2'), 'rejected', '0.00']]);
      expect((await payments(bus, payHome, members, 'P1', '2025-05-01T18:00:00Z')).orders).toEqual([]);

      // When the start is moved back to 2025-01-01 and a request for the family arrives
      members.change(nir, { start: '2025-01-01' });
      const reason = { eventId: 'ev-8', type: 'affiliation-start', effectiveDate: '2025-01-01' };
      await requestReliquidation(bus, [{ requestId: 'q2', adherentId: 'S001', from: '2025-01-01', reason }]);
      await liquidate(bus, members);

      // Then both lines are paid (9.00 and min(9.00, 25.00 − 21.00) = 4.00), version 2, with the reason
      const all = await readTopic(bus, 'settlements');
      expect(latest(all, keyOf('S1'))).toMatchObject({ version: 2, status: 'paid', amcAmount: '9.00', reliquidation: reason });
      expect(latest(all, keyOf('S2'))).toMatchObject({ version: 2, status: 'paid', amcAmount: '4.00', reliquidation: reason });
      // And the payment stage pays 13.00
      const run = await payments(bus, payHome, members, 'P2', '2025-06-10T18:00:00Z');
      expect(run.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([['member:S001', 'payment', '13.00']]);
      await close(bus);
    }, 240_000);

    it.runIf(runs('unknown'))('a line left in review for an unknown beneficiary is paid once the person is known and a request arrives', async () => {
      // Given a consultation for a person nobody knows yet, under member number U001: review, in U001's ledger
      const nir = nirOf(3);
      const members = new Members([]);
      const bus = await open(await w.fresh());
      const payHome = await home();
      await publishLines(bus, [consultation({ family: 'U001', nir, decompte: 'U1', care: '2025-03-10' })]);
      await liquidate(bus, members);
      const v1 = (await readTopic(bus, 'settlements')).map((r) => r.value);
      expect(v1).toMatchObject([{ lineKey: keyOf('U1'), version: 1, status: 'review', adherentId: null }]);
      expect((await payments(bus, payHome, members, 'P1', '2025-03-20T18:00:00Z')).orders).toEqual([]);

      // When the person joins family U001 (covered since 2025-01-01) and a request names the family
      members.add(member('U001', nir, { start: '2025-01-01' }));
      const reason = { eventId: 'ev-9', type: 'family-created', effectiveDate: '2025-01-01' };
      await requestReliquidation(bus, [{ requestId: 'q3', adherentId: 'U001', from: '2025-01-01', reason }]);
      await liquidate(bus, members);

      // Then the line is version 2, paid 9.00 to the family, with the reason; the payment stage pays it
      const v2 = latest(await readTopic(bus, 'settlements'), keyOf('U1'));
      expect(v2).toMatchObject({ version: 2, status: 'paid', amcAmount: '9.00', adherentId: 'U001', payee: 'member', reliquidation: reason });
      const run = await payments(bus, payHome, members, 'P2', '2025-03-27T18:00:00Z');
      expect(run.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([['member:U001', 'payment', '9.00']]);
      await close(bus);
    }, 240_000);

    it.runIf(runs('handover'))('a line kept under the member number it names, its person joining another family: handed over, decided there once as its next version', async () => {
      // Given a consultation for a person nobody knows, naming member number U002: review v1, kept in U002's ledger
      const nir = nirOf(4);
      const members = new Members([]);
      const bus = await open(await w.fresh());
      const payHome = await home();
      await publishLines(bus, [consultation({ family: 'U002', nir, decompte: 'H1', care: '2025-03-10' })]);
      await liquidate(bus, members);
      expect((await readTopic(bus, 'settlements')).map((r) => r.value)).toMatchObject([{ lineKey: keyOf('H1'), version: 1, status: 'review', adherentId: null }]);

      // When the person joins ANOTHER family, Y002, and the membership store asks U002 to hand the line over
      members.add(member('Y002', nir, { start: '2025-01-01' }));
      const reason = { eventId: 'ev-y2', type: 'family_created', effectiveDate: '2025-01-01' };
      await requestReliquidation(bus, [{ requestId: 'members:ev-y2:U002', adherentId: 'U002', from: '2025-01-01', reason }]);
      await liquidate(bus, members);

      // Then a request for Y002 carries the line, and Y002 decides it as version 2: review, the line
      // naming U002 while the person is Y002's (the engine's rule for a number that disagrees)
      const handovers = (await readTopic(bus, 'reliquidations')).map((r) => r.value).filter((r) => r.handover);
      expect(handovers.map((r) => [r.adherentId, r.handover!.from, Object.keys(r.handover!.lines)])).toEqual([['Y002', 'U002', [keyOf('H1')]]]);
      const v2 = latest(await readTopic(bus, 'settlements'), keyOf('H1'));
      expect(v2).toMatchObject({ version: 2, status: 'review', adherentId: 'Y002', amcAmount: '0.00', reliquidation: reason });
      expect(v2.reason).toContain('member number U002 on the line disagrees with the membership file, where this beneficiary (rang 1) belongs to adhérent Y002');
      const ledgers = await loadFamilies(bus, new Set(['U002', 'Y002']));
      expect(lineRecord(ledgers.get('Y002')!.state, keyOf('H1'))).toMatchObject({ version: 2, status: 'review' });
      expect(lineRecord(ledgers.get('U002')!.state, keyOf('H1'))).toMatchObject({ version: 1, movedTo: 'Y002' });

      // A crash between the handover and U002's ledger sends it again (same request): nothing new;
      // U002's request again: the line is moved, nothing named
      const settled = (await readTopic(bus, 'settlements')).length;
      await requestReliquidation(bus, [handovers[0]!, { requestId: 'members:ev-y2:U002', adherentId: 'U002', from: '2025-01-01', reason }]);
      await liquidate(bus, members);
      expect([...dedupe(await readTopic(bus, 'settlements')).values()].filter((x) => x.lineKey === keyOf('H1')).map((x) => x.version).sort()).toEqual([1, 2]);
      expect((await readTopic(bus, 'settlements')).length).toBe(settled);

      // And the line sent again with the right number is its version 3 in Y002's ledger, paid 9.00 once
      await publishLines(bus, [consultation({ family: 'Y002', nir, decompte: 'H1', care: '2025-03-10' })]);
      await liquidate(bus, members);
      expect(latest(await readTopic(bus, 'settlements'), keyOf('H1'))).toMatchObject({ version: 3, status: 'paid', amcAmount: '9.00', adherentId: 'Y002' });
      const run = await payments(bus, payHome, members, 'H1', '2025-03-27T18:00:00Z');
      expect(run.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([['member:Y002', 'payment', '9.00']]);
      await close(bus);
    }, 240_000);

    /**
     * The membership store itself (not the hand-kept rows above): events applied and folded as
     * `noemie run` does, the requests it decides produced as its consumer does. `today` is the
     * store's clock (which events are back-dated).
     */
    const membershipStore = async (today: { value: string }) => MembershipStore.open(await home(), { today: () => today.value });
    const event = (e: Record<string, unknown>): MembershipEvent => MembershipEventSchema.parse(e);
    const person = (o: { eventId: string; type: 'family_created' | 'beneficiary_added'; family: string; nir: string; role: 'A' | 'E'; birthDate: string; effectiveDate: string }) =>
      event({
        eventId: o.eventId, eventType: o.type, effectiveDate: o.effectiveDate, adherentId: o.family, nir: o.nir, nirKey: nirKey(o.nir), rang: 1,
        birthDate: o.birthDate, role: o.role, contracts: ['CCN-HLA-BASE'], name: `${o.role} ${o.family}`, noemie: true,
        ...(o.role === 'A' ? { iban: IBAN, bic: 'AGRIFRPP' } : {}),
      });
    /** a line of person `nir` (born `birthDate`) of family `family`: a GP consultation (consultation()) */
    const careOf = (o: { family: string; nir: string; birthDate: string; decompte: string; care: string; expense?: string }) => ({
      ...consultation(o), birthDate: o.birthDate,
    });
    const storePayments = async (bus: Bus, payHome: string, store: MembershipStore, runId: string, at: string) =>
      runPaymentStage({ bus, home: payHome, accounts: membershipAccountBook(store, at.slice(0, 10)), runId, at });
    const freshSince = (all: readonly BusRecord<'settlements'>[], before: readonly BusRecord<'settlements'>[]) =>
      all.filter((r) => !before.some((b) => b.partition === r.partition && b.offset === r.offset)).map((r) => r.value);

    it.runIf(runs('removed'))('beneficiary_removed back-dated into paid care: the child\'s lines after the removal become rejected, exactly what they were paid is recovered, the others untouched', async () => {
      // Given family B001 in the membership store: the holder and a child (born 2015-04-01, aged 10
      // in 2025: covered without proof) joined 2024-01-01 under CCN-HLA-BASE
      const today = { value: '2025-06-30' };
      const store = await membershipStore(today);
      const bus = await open(await w.fresh());
      const payHome = await home();
      try {
        const holder = nirOf(20);
        const child = nirOf(21);
        await store.apply([
          person({ eventId: 'b-join', type: 'family_created', family: 'B001', nir: holder, role: 'A', birthDate: '1985-03-12', effectiveDate: '2024-01-01' }),
          person({ eventId: 'b-child', type: 'beneficiary_added', family: 'B001', nir: child, role: 'E', birthDate: '2015-04-01', effectiveDate: '2024-01-01' }),
        ]);
        // and GP consultations liquidated and paid (consultation(): BR 30.00, RO 70 % = 21.00,
        // CCN-HLA-BASE généralistes 100 % BR → AMC = min(30.00 − 21.00, expense − 21.00)):
        // the child's 03-20 (expense 50.00: 9.00), 05-12 (expense 25.00: min(9.00, 4.00) = 4.00),
        // 06-20 (9.00); the holder's 06-10 (9.00)
        const childLine = (decompte: string, care: string, expense?: string) => careOf({ family: 'B001', nir: child, birthDate: '2015-04-01', decompte, care, ...(expense ? { expense } : {}) });
        await publishLines(bus, [
          childLine('B1', '2025-03-20'),
          childLine('B2', '2025-05-12', '25.00'),
          careOf({ family: 'B001', nir: holder, birthDate: '1985-03-12', decompte: 'B3', care: '2025-06-10' }),
          childLine('B4', '2025-06-20'),
        ]);
        await liquidate(bus, store.index());
        const before = await readTopic(bus, 'settlements');
        expect(before.map((r) => [r.value.lineKey, r.value.status, r.value.amcAmount])).toEqual([
          [keyOf('B1'), 'paid', '9.00'], [keyOf('B2'), 'paid', '4.00'], [keyOf('B3'), 'paid', '9.00'], [keyOf('B4'), 'paid', '9.00'],
        ]);
        // 9.00 + 4.00 + 9.00 + 9.00 = 31.00 to the family
        const first = await storePayments(bus, payHome, store, 'P1', '2025-07-01T18:00:00Z');
        expect(first.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([['member:B001', 'payment', '31.00']]);

        // When, on 2025-07-15, the child's removal is recorded effective 2025-05-01 (last day
        // covered 2025-04-30), and the store's request is produced
        today.value = '2025-07-15';
        const removed = event({ eventId: 'b-removed', eventType: 'beneficiary_removed', effectiveDate: '2025-05-01', adherentId: 'B001', nir: child, rang: 1 });
        const applied = await store.apply([removed]);
        const reason = { eventId: 'b-removed', type: 'beneficiary_removed', effectiveDate: '2025-05-01' };
        expect(applied.requests).toEqual([{ requestId: 'members:b-removed', adherentId: 'B001', from: '2025-05-01', reason }]);
        await requestReliquidation(bus, applied.requests);
        const stats = await liquidate(bus, store.index());

        // Then the child's 05-12 and 06-20 lines are version 2, rejected (no cover after 04-30),
        // with the event as their cause; the child's 03-20 and the holder's 06-10 (re-decided: care
        // on or after 05-01) publish nothing
        const after = await readTopic(bus, 'settlements');
        const fresh = freshSince(after, before);
        expect(fresh.map((s) => [s.lineKey, s.version, s.status, s.amcAmount])).toEqual([
          [keyOf('B2'), 2, 'rejected', '0.00'],
          [keyOf('B4'), 2, 'rejected', '0.00'],
        ]);
        for (const s of fresh) {
          expect(s.reliquidation).toEqual(reason);
          expect(s.reason).toContain('after the affiliation end 2025-04-30');
        }
        expect(stats).toMatchObject({ requests: 1, redecided: 3, unchanged: 1, published: 2 });

        // And the payment stage recovers exactly what they were paid: 4.00 + 9.00 = 13.00
        const second = await storePayments(bus, payHome, store, 'P2', '2025-07-22T18:00:00Z');
        expect(second.orders.map((o) => ({ payee: o.payee, kind: o.kind, amount: o.amount, lines: [...o.lines].sort((a, b) => a.lineKey.localeCompare(b.lineKey)) }))).toEqual([
          { payee: 'member:B001', kind: 'recovery', amount: '13.00', lines: [{ lineKey: keyOf('B2'), version: 2, amount: '-4.00' }, { lineKey: keyOf('B4'), version: 2, amount: '-9.00' }] },
        ]);

        // A third pass changes nothing: the event again (applied once), the request again
        // (re-decided, equal to the recorded versions), a payment run (nothing due)
        const again = await store.apply([removed]);
        expect(again).toMatchObject({ applied: [], duplicates: 1, requests: [] });
        await requestReliquidation(bus, applied.requests);
        expect(await liquidate(bus, store.index())).toMatchObject({ requests: 1, published: 0 });
        expect((await readTopic(bus, 'settlements')).length).toBe(after.length);
        // and redelivered (a new group reads every topic again): the lines and the first request are
        // at or below the family's watermarks; that request publishes its outbox again, identical
        // copies of B2 and B4 v2, which the payment stage does not pay or recover twice
        expect(await liquidate(bus, store.index(), 'liquidation-redelivery')).toMatchObject({ redelivered: 4 + 1, published: 2 });
        const redelivered = await readTopic(bus, 'settlements');
        expect(redelivered.length).toBe(after.length + 2);
        const copies = dedupe(redelivered);
        expect([...copies.keys()].sort()).toEqual([...dedupe(after).keys()].sort());
        for (const [k, s] of dedupe(after)) expect(copies.get(k)).toEqual(s);
        expect((await storePayments(bus, payHome, store, 'P3', '2025-07-29T18:00:00Z')).orders).toEqual([]);
      } finally {
        await close(bus);
        await store.close();
      }
    }, 240_000);

    it.runIf(runs('proofs'))('proof_studies arriving late: a student\'s line rejected for a missing proof is paid once, the proof covering the care date', async () => {
      // Given family E001: the holder and a child born 2005-06-15 (aged 20 in autumn 2025: covered
      // from 18 to 25 only with a 'studies' proof covering the date of care, CCN-HLA-BASE
      // eligibility { childAgeBelow 18, childAgeBelowWithProof 26 }, seed 001 "moins de 26 ans et
      // sur justificatif"), joined 2024-01-01, last school year's certificate on file:
      // proof_studies 2024-09-01 to 2025-08-31
      const today = { value: '2025-10-01' };
      const store = await membershipStore(today);
      const bus = await open(await w.fresh());
      const payHome = await home();
      try {
        const holder = nirOf(22);
        const child = nirOf(23);
        await store.apply([
          person({ eventId: 'e-join', type: 'family_created', family: 'E001', nir: holder, role: 'A', birthDate: '1975-03-12', effectiveDate: '2024-01-01' }),
          person({ eventId: 'e-child', type: 'beneficiary_added', family: 'E001', nir: child, role: 'E', birthDate: '2005-06-15', effectiveDate: '2024-01-01' }),
          event({ eventId: 'e-proof-2024', eventType: 'proof_studies', effectiveDate: '2024-09-01', end: '2025-08-31', adherentId: 'E001', nir: child, rang: 1 }),
        ]);
        // and two consultations of the child: 2025-03-10 (proof on file: 9.00) and 2025-10-06,
        // decided with proofs present and none covering that date: REJECTED (eligibility.ts
        // checkChildProof; 'review' is only for a child with no proofs known at all, from 26)
        const childLine = (decompte: string, care: string) => careOf({ family: 'E001', nir: child, birthDate: '2005-06-15', decompte, care });
        await publishLines(bus, [childLine('E1', '2025-03-10'), childLine('E2', '2025-10-06')]);
        await liquidate(bus, store.index());
        const before = await readTopic(bus, 'settlements');
        expect(before.map((r) => [r.value.lineKey, r.value.status, r.value.amcAmount])).toEqual([[keyOf('E1'), 'paid', '9.00'], [keyOf('E2'), 'rejected', '0.00']]);
        expect(before[1]!.value.reason).toContain("child aged 20, covered from 18 to 25 only with a proof of studies (or apprenticeship, first job search) covering that date; missing 'studies' proof (proofs on file: studies 2024-09-01 to 2025-08-31)");
        const first = await storePayments(bus, payHome, store, 'P1', '2025-10-10T18:00:00Z');
        expect(first.orders.map((o) => [o.payee, o.kind, o.amount])).toEqual([['member:E001', 'payment', '9.00']]);

        // When, on 2025-11-15, this school year's certificate is recorded: proof_studies from
        // 2025-09-01 (back-dated) to 2026-08-31
        today.value = '2025-11-15';
        const proof = event({ eventId: 'e-proof-2025', eventType: 'proof_studies', effectiveDate: '2025-09-01', end: '2026-08-31', adherentId: 'E001', nir: child, rang: 1 });
        const applied = await store.apply([proof]);
        const reason = { eventId: 'e-proof-2025', type: 'proof_studies', effectiveDate: '2025-09-01' };
        expect(applied.requests).toEqual([{ requestId: 'members:e-proof-2025', adherentId: 'E001', from: '2025-09-01', reason }]);
        await requestReliquidation(bus, applied.requests);
        await liquidate(bus, store.index());

        // Then the 10-06 line is version 2, paid min(30.00 − 21.00, 50.00 − 21.00) = 9.00, the
        // proof as its cause; the 03-10 line publishes nothing
        const after = await readTopic(bus, 'settlements');
        expect(freshSince(after, before).map((s) => [s.lineKey, s.version, s.status, s.amcAmount, s.reliquidation])).toEqual([[keyOf('E2'), 2, 'paid', '9.00', reason]]);
        // And the payment stage pays exactly 9.00 for it
        const second = await storePayments(bus, payHome, store, 'P2', '2025-11-20T18:00:00Z');
        expect(second.orders.map((o) => [o.payee, o.kind, o.amount, o.lines])).toEqual([['member:E001', 'payment', '9.00', [{ lineKey: keyOf('E2'), version: 2, amount: '9.00' }]]]);

        // A third pass changes nothing, nothing paid twice
        expect(await store.apply([proof])).toMatchObject({ applied: [], duplicates: 1, requests: [] });
        await requestReliquidation(bus, applied.requests);
        expect(await liquidate(bus, store.index())).toMatchObject({ requests: 1, published: 0 });
        expect((await readTopic(bus, 'settlements')).length).toBe(after.length);
        expect((await storePayments(bus, payHome, store, 'P3', '2025-11-27T18:00:00Z')).orders).toEqual([]);
      } finally {
        await close(bus);
        await store.close();
      }
    }, 240_000);

    it.runIf(runs('proofs'))('proof_disability arriving late: a dependant over 26 left in review is paid once, the proof dated from the disability card', async () => {
      // Given family D001 joined 2025-01-01: the holder and a dependant child born 1995-02-20
      // (aged 30 in 2025: covered beyond 25 only when disabled, the disability before 18, seed
      // 001), no proof event: `proofs` unknown
      const today = { value: '2025-04-30' };
      const store = await membershipStore(today);
      const bus = await open(await w.fresh());
      const payHome = await home();
      try {
        const holder = nirOf(24);
        const dependant = nirOf(25);
        await store.apply([
          person({ eventId: 'd-join', type: 'family_created', family: 'D001', nir: holder, role: 'A', birthDate: '1965-03-12', effectiveDate: '2025-01-01' }),
          person({ eventId: 'd-child', type: 'beneficiary_added', family: 'D001', nir: dependant, role: 'E', birthDate: '1995-02-20', effectiveDate: '2025-01-01' }),
        ]);
        // and a consultation of the dependant on 2025-04-14, billed 25.00: decided with no proof
        // known, the child over 26 goes to REVIEW (eligibility.ts: proofs absent → "check the
        // disability proof"; with proofs present and none covering, it would be rejected)
        await publishLines(bus, [careOf({ family: 'D001', nir: dependant, birthDate: '1995-02-20', decompte: 'D1', care: '2025-04-14', expense: '25.00' })]);
        await liquidate(bus, store.index());
        const before = await readTopic(bus, 'settlements');
        expect(before.map((r) => [r.value.lineKey, r.value.status, r.value.amcAmount])).toEqual([[keyOf('D1'), 'review', '0.00']]);
        expect(before[0]!.value.reason).toContain('child aged 30 on 2025-04-14: covered beyond 25 only when disabled');
        expect((await storePayments(bus, payHome, store, 'P1', '2025-04-20T18:00:00Z')).orders).toEqual([]);

        // When, on 2025-05-20, the disability proof is recorded, effective from the card's date,
        // 2012-05-01 (before the 18th birthday, 2013-02-20), open-ended — years before the
        // dependant joined this family
        today.value = '2025-05-20';
        const proof = event({ eventId: 'd-proof', eventType: 'proof_disability', effectiveDate: '2012-05-01', adherentId: 'D001', nir: dependant, rang: 1 });
        const applied = await store.apply([proof]);
        const reason = { eventId: 'd-proof', type: 'proof_disability', effectiveDate: '2012-05-01' };
        expect(applied.requests).toEqual([{ requestId: 'members:d-proof', adherentId: 'D001', from: '2012-05-01', reason }]);
        await requestReliquidation(bus, applied.requests);
        await liquidate(bus, store.index());

        // Then the line is version 2, paid min(30.00 − 21.00, 25.00 − 21.00) = 4.00, the proof as its cause
        const after = await readTopic(bus, 'settlements');
        expect(freshSince(after, before).map((s) => [s.lineKey, s.version, s.status, s.amcAmount, s.reliquidation])).toEqual([[keyOf('D1'), 2, 'paid', '4.00', reason]]);
        // And the payment stage pays exactly 4.00
        const second = await storePayments(bus, payHome, store, 'P2', '2025-05-27T18:00:00Z');
        expect(second.orders.map((o) => [o.payee, o.kind, o.amount, o.lines])).toEqual([['member:D001', 'payment', '4.00', [{ lineKey: keyOf('D1'), version: 2, amount: '4.00' }]]]);

        // A third pass changes nothing, nothing paid twice
        expect(await store.apply([proof])).toMatchObject({ applied: [], duplicates: 1, requests: [] });
        await requestReliquidation(bus, applied.requests);
        expect(await liquidate(bus, store.index())).toMatchObject({ requests: 1, published: 0 });
        expect((await readTopic(bus, 'settlements')).length).toBe(after.length);
        expect((await storePayments(bus, payHome, store, 'P3', '2025-06-03T18:00:00Z')).orders).toEqual([]);
      } finally {
        await close(bus);
        await store.close();
      }
    }, 240_000);

    it.runIf(runs('kill'))('kill -9 of the service in the middle of re-liquidations, then restarts: the settlements of an uninterrupted run', async () => {
      // Given 24 families, each with 3 consultations (03-10, 05-12, 06-20) liquidated while covered
      const FAMILIES = 24;
      const rows = Array.from({ length: FAMILIES }, (_, i) => member(`K${String(i).padStart(3, '0')}`, nirOf(100 + i)));
      const lines = rows.flatMap((b, i) => ['2025-03-10', '2025-05-12', '2025-06-20'].map((care, k) => consultation({ family: b.adherentId, nir: b.nir, decompte: `K${i}L${k}`, care, expense: k === 2 ? '25.00' : '50.00' })));
      // and then every résiliation back-dated to 2025-04-30, one request per family
      const ended = rows.map((b) => ({ ...b, end: '2025-04-30' }));
      const requests: ReliquidationRequest[] = rows.map((b) => ({ requestId: `k-${b.adherentId}`, adherentId: b.adherentId, from: '2025-05-01', reason: { eventId: `ev-${b.adherentId}`, type: 'affiliation_end', effectiveDate: '2025-04-30' } }));
      const given = async () => {
        const bus = await open(await w.fresh());
        await publishLines(bus, lines);
        await liquidate(bus, new Members(rows));
        await requestReliquidation(bus, requests);
        return bus;
      };

      // Uninterrupted: the service applies the requests in one go
      const refBus = await given();
      await liquidate(refBus, new Members(ended));
      const expected = await readTopic(refBus, 'settlements');
      await close(refBus);
      // two lines per family re-decided: rejected
      expect(expected.filter((r) => r.value.version === 2 && r.value.status === 'rejected')).toHaveLength(2 * FAMILIES);

      // Interrupted: the service process (reading the new membership file) killed twice mid-way
      const ns = await w.fresh();
      const bus = await w.open(ns);
      await publishLines(bus, lines);
      const service = await LiquidationService.start({ bus, beneficiaries: new Members(rows).live, reference, workers: 0 });
      await waitIdle(bus, 90_000);
      await service.stop();
      await requestReliquidation(bus, requests);
      await bus.close(); // the embedded bus has one writer: the child
      await writeMembers(reference, ended);
      // --task-lines 2: batches of 4 requests; pauses between the steps so the kills land between them
      const args = [...w.serviceArgs(ns), '--reference', join(reference.beneficiariesFile, '..'), '--beneficiaries', reference.beneficiariesFile, '--workers', '1', '--task-lines', '2', '--step-delay-ms', '60'];
      for (const after of [1, 3]) {
        const svc = spawnService([...args]);
        await until(() => svc.batches() >= after || svc.child.exitCode !== null, 90_000, `${after} batches`);
        expect(svc.child.exitCode, svc.output()).toBeNull();
        await new Promise((r) => setTimeout(r, 40 * after));
        svc.child.kill('SIGKILL');
        await svc.exited;
      }
      const last = spawnService([...args, '--exit-when-idle']);
      const code = await last.exited;
      expect(code, last.output()).toBe(0);
      const idle = JSON.parse(last.output().split('\n').find((l) => l.includes('"idle"'))!) as { requests: number };
      // the kills landed mid-way: the last run still had requests to apply
      expect(idle.requests).toBeGreaterThan(0);

      const reopened = await open(ns);
      const got = await readTopic(reopened, 'settlements');
      const want = dedupe(expected);
      const have = dedupe(got);
      expect([...have.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, s] of want) expect(have.get(k)).toEqual(s);
      await close(reopened);
    }, 300_000);
  });
}
