import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { waitCaughtUp } from '../../src/pipeline/catch-up.js';
import { ReconStore } from '../../src/pipeline/reconcile-store.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService } from '../../src/pipeline/reconcile-service.js';
import type { ReconState } from '../../src/reconcile/index.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { claim, settlement, tempDir } from './stages-given.js';

// group joins on the mock broker take seconds each (see payments-kafka.int.test.ts)
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

/**
 * The reconcile service's store on Kafka: the marker follows the changelog's end offsets as the
 * broker reports them, so a restart reads nothing after a clean stop, and the store built batch by
 * batch equals, key for key, the store rebuilt from the whole changelog (another busId wipes it).
 */
const broker = useTestBroker();

const nirOf = (i: number) => `2900175${String(100000 + i).slice(-6)}`;

async function statesOf(home: string): Promise<Map<string, ReconState>> {
  const store = await ReconStore.open(home);
  try {
    return await store.states();
  } finally {
    await store.close();
  }
}

async function changelogLength(bus: Bus): Promise<number> {
  return (await bus.endOffsets('reconcile-changelog')).reduce((s, e) => s + e.high - e.low, 0);
}

it('Kafka: a restart reads only the tail; the store kept batch by batch equals the one rebuilt from the changelog', async () => {
  const { dir, cleanup } = await tempDir('recon-store-kafka-');
  const home = join(dir, 'home');
  const bus = await openKafkaBus(testBusOptions(broker, `r${randomUUID().slice(0, 8)}.`));
  try {
    // 8 beneficiaries: the even ones' claims (19.00) wait for their line; every line is tp 15, AMC 19.00
    await bus.produce('tp-claims', [0, 2, 4, 6].map((i) => ({ value: claim({ tpClaimId: `C${i}`, nir: nirOf(i) }) })));
    let service = await startReconcileService({ bus, home, busId: 'kafka-test', maxBatch: 2 });
    await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 60_000);
    await bus.produce('settlements', Array.from({ length: 8 }, (_, i) => ({ value: settlement({ lineKey: `noemie-1:K${i}:1`, beneficiary: { nir: nirOf(i), rang: 1 } }) })));
    await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 60_000);
    await service.stop();
    const kept = await statesOf(home);
    expect(kept.size).toBe(8);

    service = await startReconcileService({ bus, home, busId: 'kafka-test' });
    expect(service.stats.restored).toBe(0);
    expect(service.keys).toBe(8);
    await service.stop();

    const total = await changelogLength(bus);
    service = await startReconcileService({ bus, home, busId: 'kafka-other' });
    expect(service.stats.restored).toBe(total);
    await service.stop();
    expect(await statesOf(home)).toEqual(kept);
  } finally {
    await bus.close();
    await cleanup();
  }
});
