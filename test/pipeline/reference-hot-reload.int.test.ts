import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/bus.js';
import { LiquidationService } from '../../src/pipeline/liquidation-service.js';
import { ReferenceStore, publishSample, readReferenceFile } from '../../src/pipeline/reference-store.js';
import { ROOT, handLine, spawnService, waitIdle } from './liquidation-support.js';
import { amcOf, cli, correctedGrids, handMembers, publishLine } from './reference-support.js';

/**
 * Reference data of a home, published while the liquidation service runs: the next batch uses the
 * new version, in worker threads (a real piscina pool: needs `npm run build`), without a
 * restart. The hand member A001 (CCN-HLA-BASE) and GP consultations G: BR 30.00, RO 70 % = 21.00,
 * billed 50.00 (liquidation-support.ts):
 *   grids-1 (the sample), soins.generalistes 100 % BR: G = 30.00 → AMC = min(30.00 − 21.00, 50.00 − 21.00) = 9.00
 *   grids-2, the rule corrected to 150 % BR:          G = 45.00 → AMC = min(45.00 − 21.00, 50.00 − 21.00) = 24.00
 */
const dirs: string[] = [];
const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

describe('reference data of a home and the running liquidation service', () => {
  it('a grid version published while the service runs is used by the next batch (worker threads), without a restart of the service', async () => {
    const home = await temp('ref-hot-');
    await publishSample(home);
    const beneficiaries = await handMembers(home);
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    buses.push(bus);
    const service = await LiquidationService.start({ bus, beneficiaries, reference: { home }, workers: 1 });
    try {
      // Given the sample grids in force (grids-1): the first consultation is paid 9.00.
      await publishLine(bus, handLine());
      await waitIdle(bus);
      expect(await amcOf(bus, 'HAND0001')).toEqual(['9.00']);
      expect(service.stats.reference).toBe('grids-1+nomenclature-1+pmss-1');

      // When a corrected grid set is imported into the home while the service runs
      const imported = await cli(['reference', 'import', '--home', home, '--grids', await correctedGrids(home, '150')]);
      expect(imported.err).toBe('');
      expect(imported.code).toBe(0);
      expect(imported.out).toMatch(/^published grids-2 /m);

      // Then the next consultation (next batch) is liquidated under grids-2 by the same pool: 24.00,
      await publishLine(bus, { ...handLine(), decompteId: 'HAND0002', careStart: '2025-03-11', careEnd: '2025-03-11' });
      await waitIdle(bus);
      expect(await amcOf(bus, 'HAND0002')).toEqual(['24.00']);
      expect(service.stats.reference).toBe('grids-2+nomenclature-1+pmss-1');
      // and the service alone leaves the line already liquidated as it was: re-deciding it is the
      // grid-correction watch's, which runs beside the service in noemie run and service-main
      // (test/pipeline/reference-hot-reload-kafka.int.test.ts, test/cli/run-grid-correction.int.test.ts).
      expect(await amcOf(bus, 'HAND0001')).toEqual(['9.00']);
    } finally {
      await service.stop();
    }
  }, 120_000);

  it('the service does not start on a home without reference data: REFERENCE_MISSING, nothing taken from fixtures/', async () => {
    const home = await temp('ref-none-');
    const beneficiaries = await handMembers(home);
    const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync: false });
    buses.push(bus);
    await expect(LiquidationService.start({ bus, beneficiaries, reference: { home }, workers: 0 })).rejects.toMatchObject({ code: 'REFERENCE_MISSING' });
    // a home that has grids only: the error names the kinds it lacks
    const store = ReferenceStore.open(home)!;
    await store.publish({ grids: { data: await readReferenceFile('grids', join(ROOT, 'fixtures', 'grids')), source: 'fixtures/grids' } });
    await store.close();
    const missing = await LiquidationService.start({ bus, beneficiaries, reference: { home }, workers: 0 }).catch((e: unknown) => e as Error);
    expect(missing).toMatchObject({ code: 'REFERENCE_MISSING' });
    expect((missing as Error).message).toContain('holds no nomenclature, pmss');
  });

  it('service-main without --reference on a home without reference data exits 1 with the error and how to load the data', async () => {
    const home = await temp('ref-main-');
    const service = spawnService(['--home', home, '--exit-when-idle']);
    expect(await service.exited).toBe(1);
    expect(service.output()).toContain('[REFERENCE_MISSING]');
    expect(service.output()).toContain(`noemie reference import --home ${home}`);
  }, 60_000);
});
