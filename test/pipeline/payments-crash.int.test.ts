import { cp, readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { PaymentOrder } from '../../src/model/payment.js';
import { RunReportSchema } from '../../src/payments/report.js';
import { PAYMENT_RUN_STEPS, type PaymentRunStep } from '../../src/payments/run-steps.js';
import { loadPaymentsState } from '../../src/pipeline/payments-store.js';
import { spawnNoemie, type SpawnedCli } from '../support/cli.js';
import { validPain001 } from '../support/pain001.js';
import { publishedOrders, readAll, settlement, tempDir, importSampleMembers } from './stages-given.js';

/**
 * A payment run killed (SIGKILL, NOEMIE_CRASH_AT=<step>) at every step of `noemie payments run`,
 * run as the operator runs it (bin/noemie.js as a child process, embedded bus in a home), then
 * restarted under another run id (as the next tick of a schedule would be; the audit's case). After the restart the
 * home must look like one uninterrupted run: the same orders, each EndToEndId in exactly one
 * pain.001 file (valid against the EPC XSD), no 0-byte or temporary file, every line paid once in
 * the ledger, and the orders on payment-orders identical per paymentId (at-least-once, deduplicable).
 * Needs `npm run build` (bin/noemie.js runs dist/).
 */
const ROOT = join(import.meta.dirname, '..', '..');

// nine families of fixtures/sample/beneficiaries.csv with an IBAN (ADH0000008 has none), adhérent's NIR
const FAMILIES = [
  ['ADH0000001', '1870459280378'], ['ADH0000002', '1680229242618'], ['ADH0000003', '1610192173864'],
  ['ADH0000004', '1831138137535'], ['ADH0000005', '1840994098201'], ['ADH0000006', '1831097412340'],
  ['ADH0000007', '2491194388579'], ['ADH0000009', '2510794017717'], ['ADH0000010', '2830692018725'],
] as const;
// family n (1-based) has three lines: (10 + n).00, 5.50 and 2.25 → one order of (17.75 + n)
const expectedAmount = (n: number) => (17.75 + n).toFixed(2);

let prepared = '';
let cleanup: () => Promise<void>;
let baseline: Outcome;

interface Outcome {
  orders: PaymentOrder[];
  /** messages on payment-orders before deduplication */
  published: number;
  e2e: string[];
  painFiles: string[];
}

function cli(home: string, env: Record<string, string> = {}, args: string[] = []): Promise<SpawnedCli> {
  return spawnNoemie(['payments', 'run', '--home', home, '--professionals', join(ROOT, 'fixtures', 'sample', 'professionals.csv'), ...args], { NOEMIE_LOG_LEVEL: 'silent', ...env });
}

async function filesUnder(dir: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, size: (await stat(path)).size });
  }
  return out;
}

/** What a finished home holds, checked for what must hold whatever happened before. */
async function settledHome(home: string): Promise<Outcome> {
  const files = await filesUnder(join(home, 'payments'));
  expect(files.filter((f) => f.size === 0).map((f) => relative(home, f.path))).toEqual([]);
  expect((await filesUnder(home)).filter((f) => /\.tmp$|\.tmp[.-]/.test(f.path)).map((f) => relative(home, f.path))).toEqual([]);
  const painFiles = files.filter((f) => f.path.endsWith('.xml')).map((f) => f.path);
  const e2e: string[] = [];
  for (const file of painFiles) e2e.push(...(await validPain001(file)).endToEndIds);
  // each EndToEndId in exactly one file, once
  expect(new Set(e2e).size).toBe(e2e.length);
  // the run's report is next to its pain.001, written from what the run recorded (also by a restart)
  for (const file of painFiles) {
    const report = RunReportSchema.parse(JSON.parse(await readFile(join(dirname(file), 'report.json'), 'utf8')));
    expect([report.reconciliation.reconciled, report.transferred.files.map((f) => f.fileName)]).toEqual([true, [basename(file)]]);
  }

  const { ledger, pending } = await loadPaymentsState(home);
  expect(pending).toBeNull();
  expect(ledger.due).toEqual({});
  FAMILIES.forEach(([adh], i) => {
    const paid = ['A', 'B', 'C'].map((l) => ledger.lines[`crash:${adh}:${l}`]?.paid[`member:${adh}`]);
    expect(paid).toEqual([`${10 + i + 1}.00`, '5.50', '2.25']);
  });

  const { orders: distinct, published } = await publishedOrders(home); // a re-publication is the same order
  const orders = distinct.sort((a, b) => (a.payee < b.payee ? -1 : 1));
  expect(orders.map((o) => o.endToEndId).sort()).toEqual([...e2e].sort());
  return { orders, published, e2e: e2e.sort(), painFiles };
}

async function publishedCount(home: string): Promise<number> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  try {
    return (await readAll(bus, 'payment-orders')).length;
  } finally {
    await bus.close();
  }
}

beforeAll(async () => {
  ({ dir: prepared, cleanup } = await tempDir('payments-crash-'));
  const home = join(prepared, 'home');
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const member = (adh: string, nir: string, l: string, amcAmount: string) =>
    ({ value: settlement({ lineKey: `crash:${adh}:${l}`, beneficiary: { nir, rang: 1 }, adherentId: adh, tp: '00', payee: 'member', amcAmount }) });
  await bus.produce('settlements', FAMILIES.flatMap(([adh, nir], i) => [member(adh, nir, 'A', `${10 + i + 1}.00`), member(adh, nir, 'B', '5.50'), member(adh, nir, 'C', '2.25')]));
  await bus.close();
  // the families' accounts: the sample's members, imported into the home (commands read members from the home only)
  await importSampleMembers(home);

  const uninterrupted = join(prepared, 'baseline');
  await cp(home, uninterrupted, { recursive: true });
  const r = await cli(uninterrupted);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  baseline = await settledHome(uninterrupted);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

it('the uninterrupted run pays each family (17.75 + n) in one transfer, in one pain.001', () => {
  expect(baseline.orders.map((o) => [o.payee, o.amount])).toEqual(FAMILIES.map(([adh], i) => [`member:${adh}`, expectedAmount(i + 1)]));
  expect(baseline.painFiles).toHaveLength(1);
  expect(baseline.e2e).toHaveLength(FAMILIES.length);
});

describe('killed at each step, then restarted', () => {
  it.each(PAYMENT_RUN_STEPS.map((s) => [s]))('SIGKILL after %s', async (step: PaymentRunStep) => {
    const home = join(prepared, `crash-${step}`);
    await cp(join(prepared, 'home'), home, { recursive: true });
    const crashed = await cli(home, { NOEMIE_CRASH_AT: step }, ['--run-id', 'R-crashed']);
    expect(crashed.signal).toBe('SIGKILL');
    // the crash really stopped the run at that step
    const at = PAYMENT_RUN_STEPS.indexOf(step);
    const after = (s: PaymentRunStep) => at >= PAYMENT_RUN_STEPS.indexOf(s);
    const leftFiles = (await filesUnder(join(home, 'payments'))).map((f) => relative(home, f.path));
    const { pending } = await loadPaymentsState(home);
    expect({
      intent: pending !== null,
      temp: leftFiles.some((f) => /\.pain\.001.*\.xml\.tmp$/.test(f)),
      pain: leftFiles.some((f) => /pain\.001.*\.xml$/.test(f)),
      orders: leftFiles.some((f) => f.endsWith('orders.ndjson')),
      published: await publishedCount(home),
    }).toEqual({
      intent: after('intent-saved') && !after('completed'),
      temp: step === 'pain-temp-written',
      pain: after('pain-renamed'),
      orders: after('orders-written'),
      published: after('published') ? FAMILIES.length : 0,
    });
    // what the crash left behind: keep the bytes of any pain.001 (in place or temporary) to compare
    const left = new Map<string, Buffer>();
    for (const f of await filesUnder(join(home, 'payments'))) if (/pain\.001/.test(f.path) && f.size > 0) left.set(f.path, await readFile(f.path));

    // the restart is another run (as a cron's next tick would be): it must not decide the lines again
    const restarted = await cli(home, {}, ['--run-id', 'R-restart']);
    expect(restarted.err).toBe('');
    expect(restarted.code).toBe(0);
    expect(restarted.out.includes('a crash had interrupted')).toBe(after('intent-saved') && !after('completed'));
    expect(restarted.out.includes(`report (run R-crashed): ${join(home, 'payments', 'R-crashed', 'report.html')}`)).toBe(after('intent-saved') && !after('completed'));
    const done = await settledHome(home);
    // re-published after a crash between "published" and "completed": twice on the topic, the same orders
    expect(done.published).toBe(step === 'published' ? 2 * FAMILIES.length : FAMILIES.length);
    expect(done.orders.map((o) => [o.payee, o.amount, o.endToEndId, o.kind])).toEqual(baseline.orders.map((o) => [o.payee, o.amount, o.endToEndId, o.kind]));
    expect(done.e2e).toEqual(baseline.e2e);
    expect(done.painFiles).toHaveLength(1);
    // a file written before the crash is re-written byte for byte (same MsgId, same EndToEndIds)
    const final = await readFile(done.painFiles[0]!);
    for (const [path, bytes] of left) expect({ path, same: bytes.equals(final) }).toEqual({ path, same: true });

    // and one more run finds nothing to pay (its own run id: default ids are one per second)
    const third = await cli(home, {}, ['--run-id', 'after-restart']);
    expect(third.code).toBe(0);
    expect(third.out).toContain('nothing to pay or recover');
    expect((await settledHome(home)).painFiles).toHaveLength(1);
  }, 60_000);
});

it('restarted under the same run id, the interrupted run is completed and reported as that run', async () => {
  const home = join(prepared, 'crash-same-id');
  await cp(join(prepared, 'home'), home, { recursive: true });
  expect((await cli(home, { NOEMIE_CRASH_AT: 'pain-renamed' }, ['--run-id', 'R1'])).signal).toBe('SIGKILL');
  const again = await cli(home, {}, ['--run-id', 'R1']);
  expect(again.code).toBe(0);
  expect(again.out).toContain('completed run R1 a crash had interrupted: 9 order(s)');
  expect(again.out).toContain('transfers      9');
  expect(again.out).not.toContain('already ran');
  const done = await settledHome(home);
  expect(done.e2e).toEqual(baseline.e2e);
  expect(done.orders.every((o) => o.runId === 'R1')).toBe(true);
}, 60_000);
