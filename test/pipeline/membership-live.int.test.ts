import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { nirKey } from '../../src/model/act-line.js';
import { MembershipEventSchema } from '../../src/model/membership.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { membershipGroupOf, startMembershipConsumer } from '../../src/pipeline/membership-consumer.js';
import { MembershipStore } from '../../src/pipeline/membership-store.js';
import { HAND_FAMILY, HAND_NIR, handLine, makeWorld, readTopic, waitIdle, type World } from './liquidation-support.js';

/**
 * The liquidation service resolves persons through the membership store's LIVE index: a member
 * applied while the service runs is known to its next batch, without a restart; the family's
 * back-dated arrival asks for a re-liquidation of its past lines.
 */
describe('live BeneficiaryIndex', () => {
  let world: World;
  beforeAll(async () => {
    world = await makeWorld(5, 0);
  }, 60_000);
  afterAll(async () => {
    await rm(world.dir, { recursive: true, force: true });
  });

  it('a line for an unknown member is left in review; the member arrives while the service runs; the next line is paid', async () => {
    const home = join(world.dir, 'home');
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    const store = MembershipStore.open(home);
    const consumer = await startMembershipConsumer({ bus, store });
    const members = store.index();
    const service = await LiquidationService.start({ bus, beneficiaries: members, reference: world.reference, workers: 0 });
    const publish = async (lineNo: number, record: number) => {
      const sink = new BusIngestSink(bus, { spoolDir: join(world.dir, 'spool'), members });
      await sink.beginPart({ file: `d${lineNo}.csv`, format: 'csv' });
      await sink.line({ kind: 'line', line: { ...handLine(), lineNo }, origin: { file: `d${lineNo}.csv`, record } });
      await sink.commitPart({ file: `d${lineNo}.csv`, format: 'csv', records: 1, accepted: 1, rejected: 0, decomptes: 1, expense: '30.00', roAmount: '21.00' });
      await sink.close();
      await waitIdle(bus);
    };
    try {
      // given: the store knows nobody
      await publish(1, 2);
      const first = (await readTopic(bus, 'settlements')).map((r) => r.value);
      expect(first.map((s) => [s.lineKey, s.status])).toEqual([['noemie-011751001:HAND0001:1', 'review']]);

      // when: the holder joins (effective 2024-01-01, before today) while the service runs
      const joined = MembershipEventSchema.parse({
        eventId: 'JOIN-A001', eventType: 'family_created', effectiveDate: '2024-01-01', adherentId: HAND_FAMILY,
        nir: HAND_NIR, nirKey: nirKey(HAND_NIR), rang: 1, birthDate: '1985-03-12', role: 'A', contracts: ['CCN-HLA-BASE'], name: 'Jean Dupont',
      });
      await bus.produce('members', [{ value: joined }]);
      await waitCaughtUp(bus, membershipGroupOf(store), ['members']);

      // then: the same index (no restart) knows him, and the next line is paid:
      // G, BR 30.00, RO 70 % = 21.00, BASE 100 % of BR → AMC 30.00 − 21.00 = 9.00
      expect(members.byNirRang(HAND_NIR, 1)?.adherentId).toBe(HAND_FAMILY);
      await publish(2, 3);
      const second = (await readTopic(bus, 'settlements')).map((r) => r.value).find((s) => s.lineKey === 'noemie-011751001:HAND0001:2');
      expect(second).toMatchObject({ status: 'paid', amcAmount: '9.00', adherentId: HAND_FAMILY });
      // and the first line's family is asked to be re-liquidated from the member's start, the event as reason
      const requests = (await readTopic(bus, 'reliquidations')).map((r) => r.value);
      expect(requests).toEqual([{ requestId: 'members:JOIN-A001', adherentId: HAND_FAMILY, from: '2024-01-01', reason: { eventId: 'JOIN-A001', type: 'family_created', effectiveDate: '2024-01-01' } }]);
      expect(consumer.stats).toMatchObject({ applied: 1, requested: 1 });
    } finally {
      await service.stop();
      await consumer.stop();
      await bus.close();
      await store.close();
    }
  });
});
