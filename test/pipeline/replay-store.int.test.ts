import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/bus.js';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { loadReference } from '../../src/pipeline/reference.js';
import { replay } from '../../src/pipeline/replay.js';
import { storeLedgers } from '../../src/pipeline/replay-ledgers.js';
import { HAND_FAMILY, HAND_LINE_KEY, ingestWorld, readTopic, setRulePct, useWorld, waitIdle } from './liquidation-support.js';

/**
 * A replay reading its families' ledgers from the home's ledger store (replay-ledgers.ts
 * `storeLedgers`) decides and publishes exactly what a replay reading the whole counters-changelog
 * decides and publishes, and reads from the changelog only what the store has not seen yet — so its
 * cost follows the range replayed, not the topic's history.
 */
describe('replay from the home ledger store', () => {
  const given = useWorld();
  const homes: string[] = [];
  const buses: Bus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
  });

  /** a home whose liquidation service (its ledgers in the home's store) has liquidated the world's drop */
  async function liquidatedHome(): Promise<{ home: string; bus: Bus }> {
    const home = await mkdtemp(join(tmpdir(), 'noemie-replay-store-'));
    homes.push(home);
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    buses.push(bus);
    await ingestWorld(bus, given.world);
    const service = await LiquidationService.start({ bus, beneficiaries: given.beneficiaries, reference: given.world.reference, workers: 1, ledgers: { home } });
    await waitIdle(bus);
    await service.stop();
    return { home, bus };
  }

  /** the bus, counting the counters-changelog records read through it */
  function counting(bus: Bus): { bus: Bus; read: () => number } {
    let n = 0;
    const wrapped = new Proxy(bus, {
      get(target, prop, receiver) {
        if (prop !== 'readRange') return Reflect.get(target, prop, receiver) as unknown;
        return async function* (topic: string, partition: number, range: { from: number; to: number }) {
          for await (const batch of target.readRange(topic as 'counters-changelog', partition, range)) {
            if (topic === 'counters-changelog') n += batch.length;
            yield batch;
          }
        };
      },
    });
    return { bus: wrapped, read: () => n };
  }

  it('the same diff and the same publications as a replay from the changelog, reading only what the store has not seen', async () => {
    const viaStore = await liquidatedHome();
    const viaChangelog = await liquidatedHome();
    const changelogRecords = (await readTopic(viaStore.bus, 'counters-changelog')).length;
    expect(changelogRecords).toBeGreaterThan(0);

    const { world, beneficiaries } = given;
    await setRulePct(world, 'CCN-HLA-BASE', 'soins.generalistes', '150');
    try {
      const reference = await loadReference(world.reference);
      const range = { topic: 'decompte-lines', partition: partitionFor(HAND_FAMILY), from: 0, beneficiaries, reference };

      // dry runs: the same diff; the store path reads no changelog record (its marker is at the end)
      const a = counting(viaStore.bus);
      const dryStore = await replay({ ...range, bus: a.bus, dryRun: true, ledgers: storeLedgers({ bus: a.bus, home: viaStore.home, busId: 'embedded', heal: false }) });
      expect(a.read()).toBe(0);
      const b = counting(viaChangelog.bus);
      const dryChangelog = await replay({ ...range, bus: b.bus, dryRun: true });
      expect(b.read()).toBe(changelogRecords);
      expect(dryStore.changed.length).toBeGreaterThan(0);
      expect(dryStore.changed.find((d) => d.lineKey === HAND_LINE_KEY)?.amc).toEqual({ from: '9.00', to: '24.00' });
      expect(dryStore).toEqual(dryChangelog);

      // real replays: the same settlements and the same ledger pieces published
      const settlementsBefore = (await readTopic(viaStore.bus, 'settlements')).length;
      const realStore = await replay({ ...range, bus: viaStore.bus, dryRun: false, ledgers: storeLedgers({ bus: viaStore.bus, home: viaStore.home, busId: 'embedded', heal: true }) });
      const realChangelog = await replay({ ...range, bus: viaChangelog.bus, dryRun: false });
      expect(realStore).toEqual(realChangelog);
      expect(realStore.published.settlements).toBe(dryStore.changed.length);
      const published = async (bus: Bus) => ({
        settlements: (await readTopic(bus, 'settlements')).slice(settlementsBefore).map((r) => [r.key, r.value]),
        pieces: (await readTopic(bus, 'counters-changelog')).slice(changelogRecords).map((r) => [r.key, r.value]),
      });
      expect(await published(viaStore.bus)).toEqual(await published(viaChangelog.bus));

      // a second replay from the store catches up on exactly the pieces the first one published, and finds nothing to change
      const c = counting(viaStore.bus);
      const again = await replay({ ...range, bus: c.bus, dryRun: false, ledgers: storeLedgers({ bus: c.bus, home: viaStore.home, busId: 'embedded', heal: true }) });
      expect(c.read()).toBe(realStore.published.snapshots);
      expect(again.changed).toEqual([]);
      expect(again.published).toEqual({ settlements: 0, snapshots: 0 });
    } finally {
      await setRulePct(world, 'CCN-HLA-BASE', 'soins.generalistes', '100');
    }
  }, 120_000);
});
