import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import { readEnv, reconSettings } from '../src/config.js';
import { generateFixtures } from '../src/generate/index.js';
import { ingestDrop } from '../src/ingest/ingest-drop.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import type { Settlement } from '../src/model/settlement.js';
import { BusIngestSink } from '../src/pipeline/bus-sink.js';
import { waitCaughtUp } from '../src/pipeline/catch-up.js';
import { LIQUIDATION_GROUP, LINE_TOPICS } from '../src/pipeline/keys.js';
import { LiquidationService } from '../src/pipeline/liquidation-service.js';
import { liquidationState } from '../src/pipeline/liquidation-settings.js';
import { RECONCILE_GROUP, RECONCILE_TOPICS, startReconcileService } from '../src/pipeline/reconcile-service.js';
import { referencePaths } from '../src/pipeline/reference.js';
import { publishTpClaims } from '../src/pipeline/tp-claims-sink.js';
import { root, runChild } from './support.js';

/**
 * The payment stage of `noemie run --once`, alone, on a home that went through every stage before
 * it (a generated CSV drop and its tp_claims.csv → ingest → liquidation → reconciliation, embedded
 * bus, fsync on), for two builds of the code side by side in the same run: this one and
 * `--before <dir>` (a compiled checkout of an earlier commit, e.g. the whole-file ledger).
 *   first run    the payment run over the whole drop (every line is new: N settlements)
 *   second run   1 000 settlements re-published as new versions, then a second payment run:
 *                what a daily run costs once the history is there
 * Each payment run is timed in a fresh child process; bytes written are the child's
 * `/proc/self/io` write_bytes over the run (what reached the block layer: the state store, bank
 * files, bus). Both builds start from byte-identical copies of the home.
 *
 *   npm run bench:payments -- [--lines 20000,100000] [--before /tmp/noemie-before/dist] [--dir <dir>]
 */
const { values } = parseArgs({ options: { lines: { type: 'string' }, before: { type: 'string' }, dir: { type: 'string' }, child: { type: 'string' }, home: { type: 'string' }, ref: { type: 'string' }, impl: { type: 'string' }, drop: { type: 'string' }, claims: { type: 'string' } } });

const SECOND_BATCH = 1_000;

function writtenBytes(): number {
  const io = readFileSync('/proc/self/io', 'utf8');
  return Number(/write_bytes: (\d+)/.exec(io)![1]);
}

function du(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  return readdirSync(path).reduce((s, f) => s + du(join(path, f)), 0);
}

/** Ingest → liquidation → reconciliation, as `noemie run --once` does before its payment run. */
async function prepareChild(home: string, ref: string, drop: string, claims: string): Promise<object> {
  const env = readEnv();
  const paths = referencePaths(ref);
  const { index } = await loadBeneficiaries(paths.beneficiariesFile);
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const t0 = performance.now();
  await publishTpClaims(bus, claims);
  const liquidation = await LiquidationService.start({ bus, beneficiaries: index, reference: paths, workers: 2, ...liquidationState(home, undefined, env) });
  const reconcile = await startReconcileService({ bus, config: reconSettings(env) });
  const ingested = await ingestDrop(drop, { sink: new BusIngestSink(bus) });
  await waitCaughtUp(bus, LIQUIDATION_GROUP, LINE_TOPICS, 30 * 60_000);
  await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 30 * 60_000);
  await reconcile.tick('2026-01-01T00:00:00Z');
  await liquidation.stop();
  await reconcile.stop();
  await bus.close();
  return { lines: ingested.totals.accepted, prepareSeconds: (performance.now() - t0) / 1000 };
}

/** One payment run with the build at `impl` (its dist/), then 1 000 new versions and a second run. */
async function payChild(home: string, ref: string, impl: string): Promise<object> {
  const load = async <T>(rel: string) => (await import(pathToFileURL(join(impl, rel)).href)) as T;
  const { runPaymentStage } = await load<typeof import('../src/pipeline/payments-service.js')>('src/pipeline/payments-service.js');
  const { accountBook } = await load<typeof import('../src/payments/index.js')>('src/payments/index.js');
  const { loadBeneficiaries: loadB } = await load<typeof import('../src/ingest/reference/beneficiaries.js')>('src/ingest/reference/beneficiaries.js');
  const { openEmbeddedBus: openBus } = await load<typeof import('../src/bus/embedded/embedded-bus.js')>('src/bus/embedded/embedded-bus.js');
  const { index } = await loadB(referencePaths(ref).beneficiariesFile);
  const accounts = accountBook(index.all());
  const limits = { maxOrder: '1000000.00', maxRun: '999999999.99' };
  const bus = await openBus({ dir: join(home, 'bus') });
  const timed = async (runId: string, at: string) => {
    const w0 = writtenBytes();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await runPaymentStage({ bus, home, accounts, runId, at, limits });
    // CPU seconds of the process, all threads (LevelDB's and libuv's included): wall measures the neighbours too
    const c = process.cpuUsage(c0);
    return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6, writtenBytes: writtenBytes() - w0, orders: r.orders.length, consumed: r.consumed.settlements + r.consumed.reconciliation };
  };
  const first = await timed('R1', '2026-01-02T18:00:00Z');
  // 1 000 settlements again, as new versions (a correction wave): the second run pays their difference
  const again: Settlement[] = [];
  for (const { partition, low, high } of await bus.endOffsets('settlements')) {
    for await (const records of bus.readRange('settlements', partition, { from: low, to: high })) {
      for (const r of records) if (again.length < SECOND_BATCH) again.push({ ...r.value, version: r.value.version + 1 });
      if (again.length >= SECOND_BATCH) break;
    }
    if (again.length >= SECOND_BATCH) break;
  }
  await bus.produce('settlements', again.map((value) => ({ value })));
  const second = await timed('R2', '2026-01-03T18:00:00Z');
  await bus.close();
  // the whole ledger after both runs, canonical JSON hashed: the two builds must end in the same state
  const store = (await load<Record<string, unknown>>('src/pipeline/payments-store.js')) as { loadPaymentsState: (a: string) => Promise<{ ledger: unknown }>; ledgerFileOf?: (h: string) => string };
  const { ledger } = await store.loadPaymentsState(store.ledgerFileOf ? store.ledgerFileOf(home) : home);
  const ledgerHash = createHash('sha256').update(canonical(ledger)).digest('hex').slice(0, 16);
  // every state store of the home (the payment state moved from store.mdb to state/level in session 11; both hold other stages' state too)
  const stateBytes = du(join(home, 'payments', 'ledger.json')) + du(join(home, 'state', 'store.mdb')) + du(join(home, 'state', 'level'));
  return { first, second, ledgerHash, stateBytes, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

async function prepare(lines: number, dir: string): Promise<{ ref: string; drop: string; claims: string }> {
  const ref = join(dir, `reference-${lines}`);
  const drop = join(dir, `drop-${lines}.csv`);
  const claims = join(dir, `tp_claims-${lines}.csv`);
  if (!existsSync(claims)) {
    mkdirSync(ref, { recursive: true });
    cpSync(join(root, 'fixtures', 'grids'), join(ref, 'grids'), { recursive: true });
    cpSync(join(root, 'fixtures', 'nomenclature.csv'), join(ref, 'nomenclature.csv'));
    cpSync(join(root, 'fixtures', 'pmss.csv'), join(ref, 'pmss.csv'));
    await generateFixtures({ seed: 1, lines, format: 'csv', out: drop, nomenclaturePath: join(ref, 'nomenclature.csv'), beneficiaries: join(ref, 'beneficiaries.csv'), tpClaims: claims });
  }
  return { ref, drop, claims };
}

async function main(): Promise<void> {
  if (values.child === 'prepare') return void console.log(JSON.stringify(await prepareChild(values.home!, values.ref!, values.drop!, values.claims!)));
  if (values.child === 'pay') return void console.log(JSON.stringify(await payChild(values.home!, values.ref!, values.impl!)));
  const dir = resolve(values.dir ?? join(tmpdir(), 'noemie-bench-payments'));
  const sizes = (values.lines ?? '20000,100000').split(',').map(Number);
  const impls: [string, string][] = [['this build', resolve(root, 'dist')]];
  if (values.before) impls.unshift(['before', resolve(values.before)]);
  const rows: object[] = [];
  for (const lines of sizes) {
    const { ref, drop, claims } = await prepare(lines, dir);
    const base = join(dir, `home-${lines}`);
    if (!existsSync(join(base, 'prepared'))) {
      rmSync(base, { recursive: true, force: true });
      const p = await runChild(import.meta.url, ['--child', 'prepare', '--home', base, '--ref', ref, '--drop', drop, '--claims', claims]);
      writeFileSync(join(base, 'prepared'), JSON.stringify(p));
    }
    const prepared = JSON.parse(readFileSync(join(base, 'prepared'), 'utf8')) as { lines: number };
    for (const [name, impl] of impls) {
      const home = join(dir, `run-${lines}`);
      rmSync(home, { recursive: true, force: true });
      cpSync(base, home, { recursive: true });
      const r = (await runChild(import.meta.url, ['--child', 'pay', '--home', home, '--ref', ref, '--impl', impl])) as unknown as { first: { seconds: number; cpuSeconds?: number; writtenBytes: number; orders: number; consumed: number }; second: { seconds: number; cpuSeconds?: number; writtenBytes: number; orders: number; consumed: number }; stateBytes: number; peakRssMb: number; ledgerHash: string };
      const row = { build: name, lines: prepared.lines, ...r };
      rows.push(row);
      console.log(
        `${name.padEnd(11)} ${String(prepared.lines).padStart(7)} lines | first run ${r.first.seconds.toFixed(2).padStart(7)} s (CPU ${r.first.cpuSeconds?.toFixed(2) ?? '?'} s), ${(r.first.writtenBytes / prepared.lines / 1024).toFixed(2).padStart(6)} KB written/line, ${r.first.orders} orders | ` +
          `second run (${SECOND_BATCH} new versions) ${r.second.seconds.toFixed(2).padStart(6)} s (CPU ${r.second.cpuSeconds?.toFixed(2) ?? '?'} s), ${(r.second.writtenBytes / 1048576).toFixed(1)} MB written | state ${(r.stateBytes / 1048576).toFixed(1)} MB | peak RSS ${r.peakRssMb} MB | ledger ${r.ledgerHash}`,
      );
      rmSync(home, { recursive: true, force: true });
    }
  }
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  writeFileSync(join(root, 'bench', 'out', 'payments.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2));
}

await main();
