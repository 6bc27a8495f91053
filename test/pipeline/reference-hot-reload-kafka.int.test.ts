import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import type { Bus } from '../../src/bus/bus.js';
import { publishSample } from '../../src/pipeline/reference-store.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { dedupe, handLine, readTopic, spawnService } from './liquidation-support.js';
import { amcOf, cli, correctedGrids, handMembers, publishLine } from './reference-support.js';

// Every consumer-group join on the mock broker waits ~3 s (see liquidation-kafka.int.test.ts).
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

const broker = useTestBroker();

/** Polls until `decompteId` has a settlement on the topic, and returns its AMC amounts. */
async function settled(bus: Bus, decompteId: string, output: () => string): Promise<string[]> {
  const end = Date.now() + 90_000;
  for (;;) {
    const amc = await amcOf(bus, decompteId);
    if (amc.length > 0) return amc;
    if (Date.now() > end) throw new Error(`no settlement for ${decompteId}; service output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The liquidation service as its own process (service-main.js, a worker pool), on the test broker,
 * reading the home's reference data: a corrected grid imported while it runs is used from its next
 * batch on, without a restart. Hand member A001 (CCN-HLA-BASE), GP consultation G: BR 30.00, RO 21.00,
 * billed 50.00 — grids-1: AMC = min(30.00 − 21.00, 50.00 − 21.00) = 9.00; grids-2 (150 % BR):
 * G = 45.00, AMC = min(45.00 − 21.00, 50.00 − 21.00) = 24.00. The corrected rule is the same for
 * every date (from 2022-01-01): the line decided under grids-1 is re-decided, 9.00 → 24.00.
 */
it('service-main on the test broker: a grid version imported while it runs is used by its next batch, and re-liquidates the period it corrects, once', async () => {
  const home = await mkdtemp(join(tmpdir(), 'ref-hot-kafka-'));
  const prefix = `r${randomUUID().slice(0, 8)}.`;
  const bus = await openKafkaBus(testBusOptions(broker, prefix, 'noemie-reference-test'));
  await publishSample(home);
  await handMembers(home);
  const serviceArgs = [
    '--home', home, '--beneficiaries', join(home, 'beneficiaries.csv'), '--workers', '1',
    '--kafka', broker.brokers().join(','), '--topic-prefix', prefix, '--session-timeout-ms', String(broker.kind === 'mock' ? 3_000 : 6_000),
  ];
  const svc = spawnService(serviceArgs);
  try {
    await publishLine(bus, handLine());
    expect(await settled(bus, 'HAND0001', svc.output)).toEqual(['9.00']);
    expect(svc.output()).toContain('"reference":"grids-1+nomenclature-1+pmss-1"');

    const imported = await cli(['reference', 'import', '--home', home, '--grids', await correctedGrids(home, '150')]);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toMatch(/^published grids-2 /m);

    await publishLine(bus, { ...handLine(), decompteId: 'HAND0002', careStart: '2025-03-11', careEnd: '2025-03-11' });
    expect(await settled(bus, 'HAND0002', svc.output)).toEqual(['24.00']);
    expect(svc.output()).toContain('"reference":"grids-2+nomenclature-1+pmss-1"');
    expect(svc.child.exitCode).toBeNull(); // the same process all along
    // and the grid correction re-liquidates the line decided under grids-1 (its rule changed for
    // every date): version 2, 24.00, the version as its cause — asked once, by the service's watch
    const v2 = await until(async () => (await readTopic(bus, 'settlements')).map((r) => r.value).find((v) => v.lineKey.includes(':HAND0001:') && v.version === 2), 90_000, svc.output);
    expect(v2).toMatchObject({ amcAmount: '24.00', reliquidation: { eventId: 'grids-2', type: 'grid_correction', effectiveDate: '2022-01-01' } });
  } finally {
    svc.child.kill('SIGTERM');
    await svc.exited;
  }
  // A restart asks nothing again: grids-2 is marked corrected on this bus in the home's state store
  const again = spawnService(serviceArgs);
  try {
    await publishLine(bus, { ...handLine(), decompteId: 'HAND0003', careStart: '2025-03-12', careEnd: '2025-03-12' });
    expect(await settled(bus, 'HAND0003', again.output)).toEqual(['24.00']);
    await new Promise((r) => setTimeout(r, 6_000)); // past one tick of the watch
    const requests = (await readTopic(bus, 'reliquidations')).map((r) => r.value).filter((r) => r.reason.type === 'grid_correction');
    expect(requests.map((r) => [r.requestId, r.adherentId, r.from])).toEqual([['grids-2:A001', 'A001', '2022-01-01']]);
    // (version 2 may be published again, identical, when the family's next write republishes its outbox)
    const hand1 = [...dedupe(await readTopic(bus, 'settlements')).values()].filter((v) => v.lineKey.includes(':HAND0001:'));
    expect(hand1.map((v) => [v.version, v.amcAmount]).sort()).toEqual([[1, '9.00'], [2, '24.00']]);
  } finally {
    again.child.kill('SIGTERM');
    await again.exited;
    await bus.close();
    await rm(home, { recursive: true, force: true });
  }
});

async function until<T>(probe: () => Promise<T | undefined>, ms: number, output: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > end) throw new Error(`timed out; service output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
