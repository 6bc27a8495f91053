import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareHomes, moneyUnsafe, summarize } from '../../bench/chaos/compare.js';
import { planKills, runChaos, type ChaosReport } from '../../bench/chaos/harness.js';
import { snapshotHome, type HomeSnapshot } from '../../bench/chaos/snapshot.js';
import { Rng } from '../../src/generate/prng.js';
import { STAGES } from '../../bench/chaos/stages.js';
import { validPain001FilesUnder } from '../support/pain001.js';

/**
 * The chaos harness (bench/chaos/, `npm run chaos`) on a tiny drop: 300 lines, 3 kills -9 of
 * `noemie run --once` (children run bin/noemie.js, so `npm run build` first), fixed seed. The
 * money-safety invariants must hold after the restarts; and the comparison core must be able to
 * fail: a doctored copy of a home is caught.
 */
const dir = mkdtempSync(join(tmpdir(), 'chaos-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chaos harness: kill plan', () => {
  it('spreads the kills over every stage, in stage order, payment kills on its steps', () => {
    const plan = planKills(12, new Rng(7));
    // 12 kills over 5 stages: 2 each, and 2 more drawn
    for (const s of STAGES) expect(plan.filter((p) => p.stage === s).length).toBeGreaterThanOrEqual(2);
    expect(plan.map((p) => STAGES.indexOf(p.stage))).toEqual([...plan.map((p) => STAGES.indexOf(p.stage))].sort((a, b) => a - b));
    const steps = new Set(plan.filter((p) => p.stage === 'payment').map((p) => p.step));
    expect([...steps]).toEqual(expect.arrayContaining(['write', 'consume']));
    expect(plan.every((p) => p.fraction >= 0 && p.fraction < 1)).toBe(true);
  });
});

// Un-skipped with the fixes of "Money safety" (atomic payment runs, idempotent ingestion, spools
// under the home) and of this branch (offset temp files cleaned at open, stable notice ids): any
// stray file, extra version, duplicate notice or money difference fails it.
describe('chaos harness: 300 lines, 3 kills, embedded bus', () => {
  let report: ChaosReport;

  it('a home killed 3 times ends with exactly the reference run\'s money', async () => {
    report = await runChaos({ lines: 300, kills: 3, seed: 42, bus: 'embedded', format: 'zip', invoices: 2, workers: 1, dir, childTimeoutMs: 120_000 });
    expect(report.chaos.completed).toBe(true);
    expect(report.chaos.kills.filter((k) => k.outcome === 'killed').length).toBeGreaterThan(0);
    expect(report.findings.settlements.reference).toBeGreaterThan(0);
    expect(report.findings.settlements.chaos).toBe(report.findings.settlements.reference);
    expect(Number(report.findings.payments.referenceTotal)).toBeGreaterThan(0);
    expect(report.findings.payments.chaosTotal).toBe(report.findings.payments.referenceTotal);
    expect(report.summary).toEqual({
      linesLost: 0, linesPaidTwice: 0, endToEndIdsInTwoFiles: 0, extraSettlementVersions: 0, duplicateNotices: 0,
      strayFiles: 0, strayFilesWithPersonalData: 0, emptyOrUnreadablePainFiles: 0, controlSumErrors: 0, latestSettlementDiffers: 0, ledgerDiffers: 0,
    });
    expect(report.moneyUnsafe).toEqual([]);
    // every pain.001 either home handed over is valid against the EPC XSD
    for (const home of ['reference', 'chaos']) expect((await validPain001FilesUnder(join(report.dir, home, 'payments'))).size).toBeGreaterThan(0);
  }, 300_000);
});

describe('chaos harness: the comparison core catches what it must', () => {
  let ref: HomeSnapshot;

  it('an uninterrupted home compared with itself is clean, each doctored defect is caught', async () => {
    // One uninterrupted run (0 kills): the reference home, then doctored copies of its snapshot.
    const r = await runChaos({ lines: 300, kills: 0, seed: 42, bus: 'embedded', format: 'zip', invoices: 2, workers: 1, dir: join(dir, 'clean'), childTimeoutMs: 120_000 });
    // two uninterrupted runs of one drop agree: the harness itself finds nothing (no false alarm)
    expect(r.moneyUnsafe).toEqual([]);
    expect(r.summary.extraSettlementVersions + r.summary.duplicateNotices + r.summary.ledgerDiffers).toBe(0);
    ref = await snapshotHome(join(r.dir, 'reference'), { kind: 'embedded', home: join(r.dir, 'reference') }, join(r.dir, 'tmp-reference'));
    expect(ref.painFiles.length).toBeGreaterThan(0);
    expect(summarize(compareHomes(ref, ref))).toMatchObject({ linesLost: 0, linesPaidTwice: 0, endToEndIdsInTwoFiles: 0 });

    // a pain.001 handed over twice (a second run wrote the same transfers): every EndToEndId twice,
    // and every line it pays is paid twice
    const file = ref.painFiles[0]!;
    const twice: HomeSnapshot = { ...ref, painFiles: [...ref.painFiles, { ...file, path: `${file.path}.again.xml` }] };
    const s1 = summarize(compareHomes(ref, twice));
    expect(s1.endToEndIdsInTwoFiles).toBe(file.transactions!.length);
    expect(s1.linesPaidTwice).toBeGreaterThan(0);
    expect(moneyUnsafe(s1)).toContain(`${s1.linesPaidTwice} line(s) paid twice`);

    // a settlement missing, and one line with a second version deciding something else
    const [lost, bumped] = [...ref.settlements.keys()];
    const settlements = new Map(ref.settlements);
    settlements.delete(lost!);
    const v = ref.settlements.get(bumped!)!.versions;
    settlements.set(bumped!, { versions: new Map([...v, [Math.max(...v.keys()) + 1, new Map([['{"status":"paid","amcAmount":"999.99"}', 1]])]]) });
    const s2 = summarize(compareHomes(ref, { ...ref, settlements }));
    expect(s2.linesLost).toBe(1);
    expect(s2.extraSettlementVersions).toBe(1);
    expect(s2.latestSettlementDiffers).toBe(1);

    // an empty pain.001, a stray spool with a NIR inside, an outcome the reference never sent
    const outcomes = new Map(ref.outcomes);
    outcomes.set('indu|X@2|c#1', new Map([['{}', 1]]));
    const s3 = summarize(compareHomes(ref, {
      ...ref,
      outcomes,
      painFiles: [...ref.painFiles, { path: 'payments/run-x/pain.001.001.09-x.xml', bytes: 0, transactions: null, header: null, error: 'empty file' }],
      stray: [{ path: '$TMPDIR/noemie-spool-1/part-1.ndjson', bytes: 10, personalData: true }],
    }));
    expect(s3).toMatchObject({ emptyOrUnreadablePainFiles: 1, strayFiles: 1, strayFilesWithPersonalData: 1, duplicateNotices: 1 });
  }, 300_000);
});
