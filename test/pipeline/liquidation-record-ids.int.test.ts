import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/bus.js';
import type { LineMessage } from '../../src/bus/messages.js';
import { loadBeneficiaries, type BeneficiaryIndex } from '../../src/ingest/reference/beneficiaries.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { HAND_FAMILY, HAND_LINE_KEY, handLine, makeWorld, readTopic, waitIdle, type World } from './liquidation-support.js';

/**
 * A resumed ingestion may publish an input record a second time (bus-sink.ts: the marks lag the
 * bus by at most one produce call). The liquidation service must treat a record id its family's
 * ledger already holds as applied — above all an `I` arriving again after its own `A`, which the
 * engine alone would liquidate afresh (reopening the annulled line: a new version, paid again,
 * then annulled again: a second annulation-indu downstream).
 */
describe('liquidation: an input record published twice', () => {
  let world: World;
  let beneficiaries: BeneficiaryIndex;
  beforeAll(async () => {
    world = await makeWorld(5, 0);
    beneficiaries = (await loadBeneficiaries(world.reference.beneficiariesFile)).index;
  }, 60_000);
  afterAll(async () => {
    await rm(world.dir, { recursive: true, force: true });
  });

  const I: LineMessage = { line: handLine(), origin: { file: 'lot.zip', entry: 'a.csv', record: 2 }, recordId: '0123456789abcdef:1:1' };
  const A: LineMessage = { line: { ...handLine(), operation: 'A' }, origin: { file: 'lot.zip', entry: 'a.csv', record: 3 }, recordId: '0123456789abcdef:1:2' };

  async function liquidate(bus: Bus): Promise<LiquidationService['stats']> {
    const service = await LiquidationService.start({ bus, beneficiaries, reference: world.reference, workers: 0 });
    await waitIdle(bus);
    await service.stop();
    return service.stats;
  }

  it.each([
    ['the I and its A again, in a later batch', [[I, A], [I, A]]],
    ['the I again after its A, in the same batch', [[I, A, I]]],
    ['the I again after its A, in a later batch', [[I, A], [I]]],
    ['the I twice then its A', [[I], [I, A]]],
  ] as const)('%s: versions 1 (paid 9.00) and 2 (annulled −9.00) only', async (_what, rounds) => {
    const bus = await openEmbeddedBus({ dir: join(world.dir, `bus-${Math.random().toString(36).slice(2)}`), fsync: false });
    try {
      let republished = 0;
      for (const round of rounds) {
        await bus.produce('decompte-lines', round.map((value) => ({ value, key: HAND_FAMILY })));
        republished += (await liquidate(bus)).republished;
      }
      const hand = (await readTopic(bus, 'settlements')).map((r) => r.value).filter((s) => s.lineKey === HAND_LINE_KEY);
      // Hand line: G, BR 30.00, RO 70 % = 21.00, BASE 100 % BR → AMC 30.00 − 21.00 = 9.00; its A reverses it: −9.00.
      expect(hand.map((s) => [s.version, s.operation, s.amcAmount])).toEqual([[1, 'I', '9.00'], [2, 'A', '-9.00']]);
      expect(republished).toBe(rounds.flat().length - 2);
    } finally {
      await bus.close();
    }
  });
});
