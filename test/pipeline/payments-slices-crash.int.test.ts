import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { PaymentRunStep } from '../../src/payments/run-steps.js';
import { loadPaymentsState, PaymentsStore } from '../../src/pipeline/payments-store.js';
import { spawnNoemie, type SpawnedCli } from '../support/cli.js';
import { publishedOrders, settlement, tempDir, importSampleMembers } from './stages-given.js';

/**
 * A payment run whose due lines span many slices (NOEMIE_PAYMENT_SLICE_LINES=4: 33 lines, 9
 * slices), killed (SIGKILL, NOEMIE_CRASH_AT) once its decision is recorded and before its first
 * slice is applied, between its first and second slices, and after its last one; then run again
 * with the same run id and cut-off. The home must then hold exactly what the uninterrupted run
 * left: the same files, byte for byte (pain.001, orders.ndjson, report.json / .csv / .html), the
 * same ledger and line-run records (nothing paid twice, nothing lost), the same orders on the topic.
 * Needs `npm run build` (bin/noemie.js runs dist/).
 */
const ROOT = join(import.meta.dirname, '..', '..');
const RUN = ['--run-id', 'R-slices', '--at', '2025-04-01T18:00:00Z'];

// ten families of fixtures/sample/beneficiaries.csv (ADH0000008 has no IBAN: its lines stay due, blocked)
const FAMILIES = [
  ['ADH0000001', '1870459280378'], ['ADH0000002', '1680229242618'], ['ADH0000003', '1610192173864'],
  ['ADH0000004', '1831138137535'], ['ADH0000005', '1840994098201'], ['ADH0000006', '1831097412340'],
  ['ADH0000007', '2491194388579'], ['ADH0000008', '1901238302667'], ['ADH0000009', '2510794017717'], ['ADH0000010', '2830692018725'],
] as const;

function cli(home: string, env: Record<string, string> = {}): Promise<SpawnedCli> {
  return spawnNoemie(['payments', 'run', '--home', home, '--professionals', join(ROOT, 'fixtures', 'sample', 'professionals.csv'), ...RUN], { NOEMIE_LOG_LEVEL: 'silent', NOEMIE_PAYMENT_SLICE_LINES: '4', ...env });
}

/** Everything the run leaves: its files (name → bytes), its ledger and line-run records, the orders on the topic. */
async function whatIsLeft(home: string) {
  const dir = join(home, 'payments', 'R-slices');
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) files[name] = (await readFile(join(dir, name))).toString('base64');
  const state = await loadPaymentsState(home);
  const store = await PaymentsStore.open(home);
  let lineRuns: unknown[];
  let scratch: unknown[];
  try {
    // in the home's LevelDB since session 11 (a line's runs are one value per line); since session 21
    // inside the line's own value (`LineLedger.runs`), and a `payments.line-runs` key only for a line written before
    const keys = store.runKeys();
    lineRuns = [
      ...(await keys.level.sub('payments.line').keysAfter(null, Number.MAX_SAFE_INTEGER)).flatMap((k) => { const runs = keys.lineOf(k)?.runs; return runs === undefined ? [] : [[k, runs]]; }),
      ...(await store.level.sub('payments.line-runs').entriesIn()),
    ];
    scratch = [...(await store.level.sub('payments.run-move').entriesIn()), ...(await store.level.sub('payments.run-payee').entriesIn()), ...(await store.level.sub('payments.run-ops').entriesIn()), ...(await store.level.sub('payments.pending').entriesIn())].map(([k]) => k);
  } finally {
    await store.close();
  }
  // at-least-once on the topic: a re-publication is the same order (publishedOrders checks it)
  const { orders } = await publishedOrders(home);
  return { files, state, lineRuns, scratch, orders: orders.map((o) => JSON.stringify(o)) };
}

let prepared = '';
let cleanup: () => Promise<void>;
let baseline: Awaited<ReturnType<typeof whatIsLeft>>;

beforeAll(async () => {
  ({ dir: prepared, cleanup } = await tempDir('payments-slices-'));
  const home = join(prepared, 'home');
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  // three lines per family (care dates apart: the remittance text names the period), a fourth for two of them
  const line = (adh: string, nir: string, l: string, amcAmount: string, day: number) =>
    ({ value: { ...settlement({ lineKey: `slice:${adh}:${l}`, beneficiary: { nir, rang: 1 }, adherentId: adh, tp: '00', payee: 'member', amcAmount }), careDate: `2025-03-${String(day).padStart(2, '0')}` } });
  await bus.produce('settlements', FAMILIES.flatMap(([adh, nir], i) => [
    line(adh, nir, 'A', `${10 + i}.00`, 1 + i), line(adh, nir, 'B', '5.50', 12), line(adh, nir, 'C', '2.25', 20 + i),
    ...(i % 4 === 0 ? [line(adh, nir, 'D', '1.10', 28)] : []),
  ]));
  await bus.close();
  await importSampleMembers(home);
  const uninterrupted = join(prepared, 'baseline');
  await cp(home, uninterrupted, { recursive: true });
  const r = await cli(uninterrupted);
  expect([r.code, r.err]).toEqual([0, '']);
  baseline = await whatIsLeft(uninterrupted);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

it('the uninterrupted run pays nine families in one pain.001, blocks the tenth, and leaves no scratch', () => {
  expect(Object.keys(baseline.files)).toEqual(expect.arrayContaining(['orders.ndjson', 'report.csv', 'report.html', 'report.json']));
  expect(Object.keys(baseline.files).filter((f) => f.startsWith('pain.001'))).toHaveLength(1);
  expect(baseline.orders).toHaveLength(9);
  // 33 lines: 30 paid (a line-run record each), ADH0000008's three stay due
  expect(baseline.lineRuns).toHaveLength(30);
  expect(Object.keys(baseline.state.ledger.due).sort()).toEqual(['slice:ADH0000008:A', 'slice:ADH0000008:B', 'slice:ADH0000008:C']);
  expect(baseline.scratch).toEqual([]);
});

it('SIGKILL after the first slice of the scan (its movements already in the home\'s store, the run not recorded), then run again: the same files, ledger and orders as the uninterrupted run', async () => {
  const home = join(prepared, 'crash-scan-slice');
  await cp(join(prepared, 'home'), home, { recursive: true });
  const crashed = await cli(home, { NOEMIE_CRASH_AT: 'scan-slice' });
  expect(crashed.signal).toBe('SIGKILL');
  // the killed scan left its first slice's movements (4 lines) in the run's scratch, nothing of the ledger
  const store = await PaymentsStore.open(home);
  try {
    expect((await store.level.sub('payments.run-move').entriesIn()).length).toBe(4);
    expect(store.run('R-slices')).toBeUndefined();
    expect(store.hasPending()).toBe(false);
  } finally {
    await store.close();
  }
  expect(Object.values((await loadPaymentsState(home)).ledger.lines).filter((l) => Object.keys(l.paid).length > 0)).toEqual([]);

  const again = await cli(home);
  expect([again.code, again.err]).toEqual([0, '']);
  expect(again.out).not.toContain('a crash had interrupted');
  await expectAsUninterrupted(home);
}, 60_000);

/** The home after the rerun: the same files, state, line runs and orders as the uninterrupted run's, no scratch key left. */
async function expectAsUninterrupted(home: string): Promise<void> {
  const done = await whatIsLeft(home);
  expect(Object.keys(done.files)).toEqual(Object.keys(baseline.files));
  for (const name of Object.keys(baseline.files)) expect({ name, same: done.files[name] === baseline.files[name] }).toEqual({ name, same: true });
  expect(done.state).toEqual(baseline.state);
  expect(done.lineRuns).toEqual(baseline.lineRuns);
  expect(done.orders).toEqual(baseline.orders);
  expect(done.scratch).toEqual([]);
}

describe('killed around the slices of the line updates, then run again', () => {
  it.each([['intent-saved'], ['slice-applied'], ['applied']] as [PaymentRunStep][])('SIGKILL after %s: the same files, ledger and orders as the uninterrupted run', async (step) => {
    const home = join(prepared, `crash-${step}`);
    await cp(join(prepared, 'home'), home, { recursive: true });
    const crashed = await cli(home, { NOEMIE_CRASH_AT: step });
    expect(crashed.signal).toBe('SIGKILL');
    // the crash left the run recorded, its updates applied up to the cursor: some lines paid, not all
    const half = await loadPaymentsState(home);
    const paid = Object.values(half.ledger.lines).filter((l) => Object.keys(l.paid).length > 0).length;
    expect(paid).toBe({ 'intent-saved': 0, 'slice-applied': 4, applied: 30 }[step as string]);

    const again = await cli(home);
    expect([again.code, again.err]).toEqual([0, '']);
    expect(again.out).toContain('completed run R-slices a crash had interrupted: 9 order(s)');
    await expectAsUninterrupted(home);
  }, 60_000);
});
