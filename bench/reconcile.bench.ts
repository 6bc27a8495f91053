import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import type { Settlement } from '../src/model/settlement.js';
import type { TpClaim } from '../src/model/tp-claim.js';
import { BENCH_PS, root, runChild, tpSettlement } from './support.js';

/**
 * The reconcile service, alone, for two builds side by side in the same run: this one and
 * `--before <dir>` (a compiled checkout of an earlier commit: the states rebuilt from the whole
 * `reconcile-changelog` into a map at each start). A home is prepared once (embedded bus, fsync
 * on): N settlements over N/2 beneficiaries (two tiers-payant lines each) and TP claims for one
 * line in two. Then each build gets a byte-identical copy of it and, each step in a fresh child:
 *   history  the service consumes the N settlements and N/2 claims (what a first run costs),
 *            then stops cleanly;
 *   restart  100 new settlements are produced, then the service starts, takes them, ticks and
 *            stops: what a daily restart costs once the history is there.
 * Bytes written = the child's `/proc/self/io` write_bytes over the step (bus logs, offsets,
 * changelog, state store). Heap = `heapUsed` after a full GC, the service running, after the step.
 *
 * CPU = the child's user + system seconds over the step (the machine is shared: wall time moves
 * with the load, CPU time much less).
 *
 *   npm run bench:reconcile -- [--settlements 100000] [--lines 2] [--new 100] [--before /tmp/noemie-before/dist] [--max-batch n] [--dir <dir>]
 * --lines K: K lines per beneficiary (the depth of each person's history; default 2)
 * RECON_PROF=<dir>: each step's child runs with --cpu-prof into <dir>
 */
const { values } = parseArgs({
  options: { settlements: { type: 'string' }, lines: { type: 'string' }, new: { type: 'string' }, before: { type: 'string' }, dir: { type: 'string' }, child: { type: 'string' }, home: { type: 'string' }, impl: { type: 'string' }, 'max-batch': { type: 'string' } },
});

const PS = BENCH_PS;
const nirOf = (i: number) => `1${String(i).padStart(12, '0')}`;

function writtenBytes(): number {
  return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

function du(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  return readdirSync(path).reduce((s, f) => s + du(join(path, f)), 0);
}

function settlementOf(i: number, line: number, version = 1): Settlement {
  const day = `2025-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (line % 28)).padStart(2, '0')}`;
  return tpSettlement({ lineKey: `noemie-bench:D${i}:${line}`, beneficiary: { nir: nirOf(i), rang: 1 }, adherentId: `A${Math.floor(i / 3)}`, careDate: day, version });
}

function claimOf(s: Settlement): TpClaim {
  return { tpClaimId: `C-${s.lineKey}`, operator: 'OPTP', psId: PS, nir: s.beneficiary.nir, rang: s.beneficiary.rang, careDate: s.careDate, actCode: s.actCode, invoiceNo: null, amcAmountClaimed: s.amcAmount, paidOn: null };
}

/** The home both builds start from: settlements and claims on the embedded bus, nothing consumed. */
async function prepareChild(home: string, settlements: number, perBeneficiary: number): Promise<object> {
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const beneficiaries = Math.ceil(settlements / perBeneficiary);
  let batch: Settlement[] = [];
  let claims: TpClaim[] = [];
  const flush = async () => {
    if (claims.length) await bus.produce('tp-claims', claims.map((value) => ({ value })));
    if (batch.length) await bus.produce('settlements', batch.map((value) => ({ value })));
    batch = [];
    claims = [];
  };
  for (let n = 0; n < settlements; n++) {
    const s = settlementOf(n % beneficiaries, Math.floor(n / beneficiaries));
    batch.push(s);
    if (n % 2 === 0) claims.push(claimOf(s));
    if (batch.length >= 4096) await flush();
  }
  await flush();
  await bus.close();
  return { settlements, beneficiaries, claims: Math.ceil(settlements / 2) };
}

/** One step of the reconcile service of the build at `impl` (its dist/) on `home`. */
async function stepChild(home: string, impl: string, step: string, fresh: number): Promise<object> {
  const load = async <T>(rel: string) => (await import(pathToFileURL(join(impl, rel)).href)) as T;
  const { startReconcileService, RECONCILE_GROUP, RECONCILE_TOPICS } = await load<typeof import('../src/pipeline/reconcile-service.js')>('src/pipeline/reconcile-service.js');
  const { waitCaughtUp } = await load<typeof import('../src/pipeline/catch-up.js')>('src/pipeline/catch-up.js');
  const { openEmbeddedBus: openBus } = await load<typeof import('../src/bus/embedded/embedded-bus.js')>('src/bus/embedded/embedded-bus.js');
  const bus = await openBus({ dir: join(home, 'bus') });
  if (step === 'restart') {
    // new versions of `fresh` lines of the history (a correction wave), produced before the clock starts
    const again = Array.from({ length: fresh }, (_, i) => ({ value: { ...settlementOf(i * 7, 0, 2), amcAmount: '15.00', parts: [{ contract: 'CCN-HLA-OPT2', amount: '15.00' }] } }));
    await bus.produce('settlements', again);
  }
  const w0 = writtenBytes();
  const m0 = mainThreadCpuNs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // `home` and `busId` are ignored by a build that keeps its states in memory
  const service = await startReconcileService({ bus, home, busId: 'embedded', ...(values['max-batch'] ? { maxBatch: Number(values['max-batch']) } : {}) } as Parameters<typeof startReconcileService>[0]);
  const startSeconds = (performance.now() - t0) / 1000;
  await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 60 * 60_000);
  const t1 = performance.now();
  const ticked = await service.tick('2026-12-01T00:00:00.000Z');
  const tickSeconds = (performance.now() - t1) / 1000;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const mainCpuSeconds = (mainThreadCpuNs() - m0) / 1e9;
  globalThis.gc?.();
  const heapMb = Math.round(process.memoryUsage().heapUsed / 1048576);
  const keys = service.keys;
  await service.stop();
  // the decisions on the topic, `held` notices aside (their count depends on batch sizes: a line
  // taken before its claim is held first): the two builds must publish the same ids
  const ids: string[] = [];
  let held = 0;
  for (const { partition, low, high } of await bus.endOffsets('reconciliation')) {
    if (high <= low) continue;
    for await (const records of bus.readRange('reconciliation', partition, { from: low, to: high })) {
      for (const r of records) if (r.value.kind === 'held') held += 1;
      else ids.push(r.value.outcomeId);
    }
  }
  const decisions = createHash('sha256').update([...new Set(ids)].sort().join('\n')).digest('hex').slice(0, 16);
  await bus.close();
  const outcomes = Object.values(service.stats.outcomes).reduce((a, b) => a + b, 0);
  return {
    seconds,
    cpuSeconds,
    mainCpuSeconds,
    startSeconds,
    tickSeconds,
    ticked: ticked.length,
    events: service.stats.events,
    outcomes,
    keys,
    decisions,
    decisionIds: new Set(ids).size,
    heldOnTopic: held,
    writtenBytes: writtenBytes() - w0,
    heapMb,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    changelogBytes: du(join(home, 'bus', 'reconcile-changelog')),
    // the state is in the home's LevelDB since session 8 (layouts 1–3: store.mdb)
    storeBytes: du(join(home, 'state', 'store.mdb')) + du(join(home, 'state', 'level')),
  };
}

async function main(): Promise<void> {
  if (values.child === 'prepare') return void console.log(JSON.stringify(await prepareChild(values.home!, Number(values.settlements), Number(values.lines ?? 2))));
  if (values.child === 'history' || values.child === 'restart') return void console.log(JSON.stringify(await stepChild(values.home!, values.impl!, values.child, Number(values.new ?? 100))));
  const dir = resolve(values.dir ?? join(tmpdir(), 'noemie-bench-reconcile'));
  const settlements = Number(values.settlements ?? 100_000);
  const fresh = Number(values.new ?? 100);
  const impls: [string, string][] = [['this build', resolve(root, 'dist')]];
  if (values.before) impls.unshift(['before', resolve(values.before)]);
  const perBeneficiary = Number(values.lines ?? 2);
  const base = join(dir, `home-${settlements}${perBeneficiary === 2 ? '' : `x${perBeneficiary}`}`);
  if (!existsSync(join(base, 'prepared'))) {
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { recursive: true });
    const p = await runChild(import.meta.url, ['--child', 'prepare', '--home', base, '--settlements', String(settlements), '--lines', String(perBeneficiary)]);
    writeFileSync(join(base, 'prepared'), JSON.stringify(p));
  }
  const prepared = JSON.parse(readFileSync(join(base, 'prepared'), 'utf8')) as { settlements: number; beneficiaries: number; claims: number };
  console.log(`home: ${prepared.settlements} settlements, ${prepared.beneficiaries} beneficiaries, ${prepared.claims} claims`);
  const rows: object[] = [];
  for (const [name, impl] of impls) {
    const home = join(dir, 'run');
    rmSync(home, { recursive: true, force: true });
    cpSync(base, home, { recursive: true });
    for (const step of ['history', 'restart']) {
      const r = (await runChild(import.meta.url, ['--child', step, '--home', home, '--impl', impl, '--new', String(fresh), ...(values['max-batch'] ? ['--max-batch', values['max-batch']] : [])], ['--expose-gc', ...(process.env.RECON_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RECON_PROF}`] : [])])) as Record<string, number>;
      rows.push({ build: name, step, ...r });
      const per = step === 'history' ? r.events! : fresh;
      console.log(
        `${name.padEnd(11)} ${step.padEnd(8)} | ${r.seconds!.toFixed(2).padStart(7)} s, CPU ${r.cpuSeconds!.toFixed(2)} s, main thread ${r.mainCpuSeconds!.toFixed(2)} s (start ${r.startSeconds!.toFixed(2)} s, tick ${r.tickSeconds!.toFixed(2)} s: ${r.ticked} raised) | ${r.events} events, ${r.outcomes} outcomes, ${r.keys} keys | ` +
          `${(r.writtenBytes! / 1048576).toFixed(1)} MB written (${Math.round(r.writtenBytes! / per)} B per ${step === 'history' ? 'event' : 'new settlement'}) | heap ${r.heapMb} MB, peak RSS ${r.peakRssMb} MB | changelog ${(r.changelogBytes! / 1048576).toFixed(1)} MB, store ${(r.storeBytes! / 1048576).toFixed(1)} MB | decisions ${r.decisionIds} ${r.decisions}, held ${r.heldOnTopic}`,
      );
    }
    rmSync(home, { recursive: true, force: true });
  }
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  writeFileSync(join(root, 'bench', 'out', 'reconcile.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), settlements, fresh, rows }, null, 2));
}

/**
 * The service thread's own CPU time (ns; the bus, the decider and the store's calls run on it),
 * apart from libuv's pool and LevelDB's compaction thread, which process.cpuUsage counts too:
 * the kernel's per-thread run time (`/proc/self/task/<pid>/schedstat`, first field), 0 elsewhere.
 */
function mainThreadCpuNs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

await main();
