import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { loadBeneficiaries, type BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { BusIngestSink } from '../../src/pipeline/bus-sink.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { HAND_FAMILY, handLine, makeWorld, readTopic, waitIdle, type World } from './liquidation-support.js';

/**
 * The partition key of a line and the key of the ledger it is liquidated against come from the
 * same source, the members file: a line printed with another member number than its
 * beneficiary's adhérent still goes to that family's partition (one writer per ledger), and is
 * settled `review` naming both numbers.
 */
describe('lines keyed by the membership file', () => {
  let world: World;
  let beneficiaries: BeneficiaryIndex;
  beforeAll(async () => {
    world = await makeWorld(5, 0);
    beneficiaries = (await loadBeneficiaries(world.reference.beneficiariesFile)).index;
  }, 60_000);
  afterAll(async () => {
    await rm(world.dir, { recursive: true, force: true });
  });

  it('a line whose member number disagrees goes to the family of the membership, settled review with both numbers', async () => {
    // A family number that lands on another partition than the hand member's A001.
    const other = ['A999', 'B123', 'C777', 'X42', 'Z9'].find((id) => partitionFor(id) !== partitionFor(HAND_FAMILY))!;
    const bus = await openEmbeddedBus({ dir: join(world.dir, 'bus'), fsync: false });
    try {
      const sink = new BusIngestSink(bus, { spoolDir: join(world.dir, 'spool'), members: beneficiaries });
      await sink.beginPart({ file: 'd.csv', format: 'csv' });
      await sink.line({ kind: 'line', line: { ...handLine(), lineNo: 1 }, origin: { file: 'd.csv', record: 2 } });
      await sink.line({ kind: 'line', line: { ...handLine(), lineNo: 2, amcMemberId: other }, origin: { file: 'd.csv', record: 3 } });
      await sink.commitPart({ file: 'd.csv', format: 'csv', records: 2, accepted: 2, rejected: 0, decomptes: 1, expense: '100.00', roAmount: '42.00' });
      await sink.close();
      const lines = await readTopic(bus, 'decompte-lines');
      expect(lines.map((r) => [r.value.line.lineNo, r.key, r.partition])).toEqual([
        [1, HAND_FAMILY, partitionFor(HAND_FAMILY)],
        [2, HAND_FAMILY, partitionFor(HAND_FAMILY)],
      ]);

      const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference, workers: 0 });
      await waitIdle(bus);
      await service.stop();
      const byLine = new Map((await readTopic(bus, 'settlements')).map((r) => [r.value.lineKey, r]));
      // Line 1: G, BR 30.00, RO 70 % = 21.00, BASE 100 % BR → AMC 30.00 − 21.00 = 9.00.
      expect(byLine.get('noemie-011751001:HAND0001:1')?.value).toMatchObject({ status: 'paid', amcAmount: '9.00', adherentId: HAND_FAMILY });
      const disagreeing = byLine.get('noemie-011751001:HAND0001:2')!;
      expect(disagreeing.value).toMatchObject({ status: 'review', amcAmount: '0.00', adherentId: HAND_FAMILY });
      expect(disagreeing.value.reason).toContain(other);
      expect(disagreeing.value.reason).toContain(HAND_FAMILY);
      expect(disagreeing.partition).toBe(partitionFor(HAND_FAMILY));
    } finally {
      await bus.close();
    }
  });
});
