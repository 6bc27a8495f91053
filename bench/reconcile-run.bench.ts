import { createHash } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { root, runChild } from './support.js';

/**
 * The reconcile service alone on the settlements and TP claims of a real `noemie run --once` (the
 * bus folders of a home kept by `run.bench --keep`): the mix of member, tiers-payant, review and
 * annulled lines that `bench:reconcile`'s synthetic home lacks, for builds side by side, A B A B.
 *
 * Each child (a fresh process per build and round) opens a new embedded bus, produces the source's
 * claims, then starts the service, lets it catch up and stops it (phase `claims`: what ingest's TP
 * claims cost), produces the source's settlements, then starts, catches up and stops it again
 * (phase `settlements`: the liquidation's window). Production is outside the clock; its records
 * are this process's own (decoded without zod, as in `run`), read back from the log files. CPU:
 * the process's (every thread: the service's, libuv's pool running LevelDB's reads and fsyncs,
 * LevelDB's compaction thread, the GC helpers) and the main thread's (`/proc/self/task/<pid>/schedstat`),
 * over the service's start, catch-up and stop (its store closed: LevelDB finishes its compaction).
 * `outcomes` hashes every outcome on `reconciliation` in partition and offset order, `at` left out
 * (instants are the child's clock): builds that decide the same way print the same hash.
 *
 *   npm run bench:reconcile-run -- --source <home>/bus [--before <dist>] [--rounds 2] [--max-batch 4096] [--slice n] [--dir <dir>]
 * --slice n: the service's records per commit (this build's sliceSize; a build without it ignores it)
 * RECON_PROF=<dir>: each measured phase's main-thread CPU profile into <dir>/<pid>-<phase>.cpuprofile (node:inspector);
 * RECON_HEAP=<dir>: each measured phase's sampled allocations (collected ones included) into <dir>/<pid>-<phase>.heapprofile;
 * NOEMIE_STATE_TRACE works as in `run`.
 */
const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    before: { type: 'string' },
    rounds: { type: 'string' },
    'max-batch': { type: 'string' },
    slice: { type: 'string' },
    dir: { type: 'string' },
    child: { type: 'string' },
    impl: { type: 'string' },
    home: { type: 'string' },
  },
});

const PRODUCE_CHUNK = 4096;

function writtenBytes(): number {
  return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

function mainThreadCpuNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

/** CPU seconds per thread name (`/proc/self/task/<tid>/comm`: node's main thread, V8 workers, libuv's pool, LevelDB's), threads alive now. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name = tid === String(process.pid) ? 'main' : `${readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()}-${Number(tid) - process.pid}`;
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out[name] = (out[name] ?? 0) + ns / 1e9;
    } catch {
      // the thread ended
    }
  }
  return out;
}

function du(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  return readdirSync(path).reduce((s, f) => s + du(join(path, f)), 0);
}

/** The values of a topic's partition logs under `busDir` (the embedded bus's `<topic>/<partition>.log`), in chunks, with their partition. */
function* sourceChunks(busDir: string, topic: string, size: number): Generator<{ partition: number; value: unknown }[]> {
  const dir = join(busDir, topic);
  for (const f of readdirSync(dir).filter((n) => /^\d+\.log$/.test(n)).sort()) {
    const partition = Number(f.slice(0, -4));
    const lines = readFileSync(join(dir, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i += size) {
      const chunk = lines.slice(i, i + size).filter((l) => l !== '').map((line) => ({ partition, value: (JSON.parse(line) as { v: unknown }).v }));
      if (chunk.length > 0) yield chunk;
    }
  }
}

async function replayChild(impl: string, home: string, source: string): Promise<object> {
  const load = async <T>(rel: string) => (await import(pathToFileURL(join(impl, rel)).href)) as T;
  const { startReconcileService, RECONCILE_GROUP, RECONCILE_TOPICS } = await load<typeof import('../src/pipeline/reconcile-service.js')>('src/pipeline/reconcile-service.js');
  const { waitCaughtUp } = await load<typeof import('../src/pipeline/catch-up.js')>('src/pipeline/catch-up.js');
  const { openEmbeddedBus } = await load<typeof import('../src/bus/embedded/embedded-bus.js')>('src/bus/embedded/embedded-bus.js');
  const { TRUSTED } = await load<typeof import('../src/bus/bus.js')>('src/bus/bus.js');
  const bus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const maxBatch = values['max-batch'] ? Number(values['max-batch']) : undefined;
  const phases: Record<string, { seconds: number; cpuSeconds: number; mainCpuSeconds: number; writtenBytes: number; events: number; threads: Record<string, number> }> = {};
  const produce = async (topic: 'tp-claims' | 'settlements') => {
    let n = 0;
    for (const chunk of sourceChunks(source, topic, PRODUCE_CHUNK)) {
      await bus.produce(topic, chunk as Parameters<typeof bus.produce<typeof topic>>[1], TRUSTED);
      n += chunk.length;
    }
    // the source's objects are garbage now: collected before the clock starts, not in the service's time
    globalThis.gc?.();
    return n;
  };
  // RECON_PROF: the main thread's CPU profile of each measured phase alone (not the production around them)
  // RECON_HEAP: the allocations sampled in each measured phase, collected ones included (<dir>/<pid>-<phase>.heapprofile)
  const profiler = process.env.RECON_PROF || process.env.RECON_HEAP ? new Session() : null;
  if (profiler) {
    profiler.connect();
    if (process.env.RECON_PROF) await profiler.post('Profiler.enable');
    if (process.env.RECON_HEAP) await profiler.post('HeapProfiler.enable');
  }
  const phase = async (name: string, events: number) => {
    if (process.env.RECON_PROF) await profiler!.post('Profiler.start');
    if (process.env.RECON_HEAP) await profiler!.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const w0 = writtenBytes();
    const th0 = threadCpu();
    const m0 = mainThreadCpuNs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const service = await startReconcileService({ bus, home, busId: 'embedded', ...(maxBatch ? { maxBatch } : {}), ...(values.slice ? { sliceSize: Number(values.slice) } : {}) } as Parameters<typeof startReconcileService>[0]);
    await waitCaughtUp(bus, RECONCILE_GROUP, RECONCILE_TOPICS, 60 * 60_000);
    await service.stop();
    const cpu = process.cpuUsage(c0);
    const main = (mainThreadCpuNs() - m0) / 1e9;
    const threads: Record<string, number> = {};
    for (const [k, v] of Object.entries(threadCpu())) threads[k] = Math.round((v - (th0[k] ?? 0)) * 100) / 100;
    phases[name] = { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainCpuSeconds: main, writtenBytes: writtenBytes() - w0, events, threads };
    if (process.env.RECON_PROF) {
      const { profile } = await profiler!.post('Profiler.stop');
      writeFileSync(join(process.env.RECON_PROF, `${process.pid}-${name}.cpuprofile`), JSON.stringify(profile));
    }
    if (process.env.RECON_HEAP) {
      const { profile } = await profiler!.post('HeapProfiler.stopSampling');
      writeFileSync(join(process.env.RECON_HEAP, `${process.pid}-${name}.heapprofile`), JSON.stringify(profile));
    }
  };
  await phase('claims', await produce('tp-claims'));
  await phase('settlements', await produce('settlements'));
  const hash = createHash('sha256');
  const kinds: Record<string, number> = {};
  for (const { partition, low, high } of await bus.endOffsets('reconciliation')) {
    if (high <= low) continue;
    for await (const records of bus.readRange('reconciliation', partition, { from: low, to: high, maxBatch: 4096 })) {
      for (const r of records) {
        const { at: _at, ...rest } = r.value;
        hash.update(JSON.stringify(rest)).update('\n');
        kinds[r.value.kind] = (kinds[r.value.kind] ?? 0) + 1;
      }
    }
  }
  let changelogRecords = 0;
  for (const { low, high } of await bus.endOffsets('reconcile-changelog')) changelogRecords += high - low;
  await bus.close();
  return {
    phases,
    outcomes: hash.digest('hex').slice(0, 16),
    kinds,
    changelogRecords,
    changelogBytes: du(join(home, 'bus', 'reconcile-changelog')),
    reconciliationBytes: du(join(home, 'bus', 'reconciliation')),
    levelBytes: du(join(home, 'state', 'level')),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

interface Row {
  phases: Record<string, { seconds: number; cpuSeconds: number; mainCpuSeconds: number; writtenBytes: number; events: number; threads: Record<string, number> }>;
  outcomes: string;
  kinds: Record<string, number>;
  changelogRecords: number;
  changelogBytes: number;
  reconciliationBytes: number;
  levelBytes: number;
  peakRssMb: number;
}

async function main(): Promise<void> {
  if (values.child === 'replay') return void console.log(JSON.stringify(await replayChild(resolve(values.impl!), values.home!, resolve(values.source!))));
  if (values.source === undefined) throw new Error('--source <a kept home>/bus is required (node dist/bench/run.bench.js --lines 100000 --keep)');
  const dir = resolve(values.dir ?? join(tmpdir(), 'noemie-bench-reconcile-run'));
  const impls: [string, string][] = [['this build', resolve(root, 'dist')]];
  if (values.before) impls.unshift(['before', resolve(values.before)]);
  const rounds = Number(values.rounds ?? 1);
  const rows: object[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [name, impl] of impls) {
      const home = join(dir, 'run');
      rmSync(home, { recursive: true, force: true });
      mkdirSync(home, { recursive: true });
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      const flags = ['--expose-gc'];
      const r = (await runChild(import.meta.url, ['--child', 'replay', '--impl', impl, '--home', home, '--source', values.source, ...(values['max-batch'] ? ['--max-batch', values['max-batch']] : []), ...(values.slice ? ['--slice', values.slice] : [])], flags)) as unknown as Row;
      rows.push({ round, build: name, load, ...r });
      const cells = Object.entries(r.phases).map(([phase, p]) => `${phase} ${p.events} ev: ${p.seconds.toFixed(2)} s, CPU ${p.cpuSeconds.toFixed(2)} s (main ${p.mainCpuSeconds.toFixed(2)}; ${JSON.stringify(p.threads)}), ${(p.writtenBytes / 1048576).toFixed(1)} MB written`);
      const sum = Object.values(r.phases).reduce((a, p) => ({ cpu: a.cpu + p.cpuSeconds, main: a.main + p.mainCpuSeconds, events: a.events + p.events }), { cpu: 0, main: 0, events: 0 });
      console.log(
        `${String(round)} ${name.padEnd(10)} load ${load} | ${cells.join(' | ')} | total CPU ${sum.cpu.toFixed(2)} s (main ${sum.main.toFixed(2)}) | changelog ${r.changelogRecords} records, ${Math.round(r.changelogBytes / sum.events)} B/event; reconciliation ${Math.round(r.reconciliationBytes / sum.events)} B/event; level ${Math.round(r.levelBytes / sum.events)} B/event | outcomes ${r.outcomes} ${JSON.stringify(r.kinds)} | peak RSS ${r.peakRssMb} MB`,
      );
    }
  }
  rmSync(join(dir, 'run'), { recursive: true, force: true });
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  writeFileSync(join(root, 'bench', 'out', 'reconcile-run.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), source: values.source, rows }, null, 2));
}

await main();
