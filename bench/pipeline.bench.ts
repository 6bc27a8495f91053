import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import { readDrop } from '../src/ingest/index.js';
import { ingestDrop } from '../src/ingest/ingest-drop.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import { BusIngestSink } from '../src/pipeline/bus-sink.js';
import { LIQUIDATION_GROUP, LINE_TOPICS } from '../src/pipeline/keys.js';
import { LiquidationService } from '../src/pipeline/liquidation-service.js';
import { referencePaths } from '../src/pipeline/reference.js';
import { prepareDrop, root, runChild } from './support.js';

/**
 * End-to-end pipeline benchmark on the embedded bus: a generated CSV drop goes through ingestion
 * (BusIngestSink → decompte-lines), then the liquidation service (piscina pool → settlements and
 * counters-changelog), beside a bare parse of the same drop (readDrop, counting events). Each
 * measurement runs in a fresh child process so its peak RSS (`resourceUsage().maxRSS`, worker
 * threads included) is its own.
 *
 *   npm run build && node dist/bench/pipeline.bench.js [--lines 20000] [--workers 2] [--dir <dir>] [--no-fsync] [--ledger-cache n] [--ledger-cache-mb n] [--live] [--measure-tasks]
 * The service's ledger store lives in the run's home (its state store, state/store.mdb).
 */
const { values } = parseArgs({
  options: {
    lines: { type: 'string' }, workers: { type: 'string' }, dir: { type: 'string' }, 'no-fsync': { type: 'boolean' },
    'ledger-cache': { type: 'string' }, 'ledger-cache-mb': { type: 'string' }, live: { type: 'boolean' }, 'measure-tasks': { type: 'boolean' }, child: { type: 'string' }, drop: { type: 'string' }, ref: { type: 'string' }, home: { type: 'string' },
  },
});

const mb = (kb: number) => Math.round(kb / 1024);

/** This process's I/O counters (Linux): `write_bytes` reached the disk, `wchar` went through write calls. */
function ioCounters(): { writeBytes: number; wchar: number } {
  try {
    const text = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { writeBytes: field('write_bytes'), wchar: field('wchar') };
  } catch {
    return { writeBytes: NaN, wchar: NaN };
  }
}

async function parseChild(drop: string): Promise<object> {
  const t0 = performance.now();
  let lines = 0;
  for await (const part of readDrop(drop)) for await (const ev of part.events) if (ev.kind === 'line') lines += 1;
  const seconds = (performance.now() - t0) / 1000;
  return { lines, seconds, peakRssMb: mb(process.resourceUsage().maxRSS) };
}

async function pipelineChild(drop: string, ref: string, home: string, workers: number, fsync: boolean, cache: number | undefined): Promise<object> {
  const paths = referencePaths(ref);
  const { index } = await loadBeneficiaries(paths.beneficiariesFile);
  const bus = await openEmbeddedBus({ dir: join(home, 'bus'), fsync });
  const io0 = ioCounters();
  const t0 = performance.now();
  const ingested = await ingestDrop(drop, { sink: new BusIngestSink(bus) });
  const t1 = performance.now();
  const cacheMb = values['ledger-cache-mb'];
  const ledgers = { home, fsync, ...(cache !== undefined ? { cacheSize: cache } : {}), ...(cacheMb !== undefined ? { cacheBytes: Number(cacheMb) * 1048576 } : {}) };
  // RSS of the whole process (workers included) at each tenth of the drop liquidated: a bounded
  // service plateaus; one whose memory follows the drop climbs to the end.
  const live = values.live === true;
  const samples: { linesDone: number; rssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number }[] = [];
  let nextTenth = 1;
  const total = ingested.totals.accepted;
  const onBatch = (s: { lines: number }) => {
    while (nextTenth <= 10 && s.lines >= (total * nextTenth) / 10) {
      const m = process.memoryUsage();
      // --live: a full collection first, so heapUsed is what the main thread really holds
      const gc = (globalThis as { gc?: () => void }).gc;
      if (live && gc) gc();
      const after = process.memoryUsage();
      const toMb = (n: number) => Math.round(n / 1048576);
      samples.push({ linesDone: s.lines, rssMb: toMb(m.rss), heapUsedMb: toMb(after.heapUsed), heapTotalMb: toMb(after.heapTotal), externalMb: toMb(after.external) });
      nextTenth += 1;
    }
  };
  const measureTasks = values['measure-tasks'] === true;
  const service = await LiquidationService.start({ bus, beneficiaries: index, reference: paths, workers, ledgers, onBatch, ...(measureTasks ? { measureTasks } : {}) });
  for (;;) {
    const lag = await bus.lag(LIQUIDATION_GROUP, LINE_TOPICS);
    if (lag.every((l) => l.lag === 0)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const t2 = performance.now();
  const ledgerStats = service.ledgerStats;
  await service.stop();
  await bus.close();
  const io1 = ioCounters();
  const lines = ingested.totals.accepted;
  return {
    lines, writtenBytesPerLine: Math.round((io1.writeBytes - io0.writeBytes) / lines), writeCallBytesPerLine: Math.round((io1.wchar - io0.wchar) / lines), ingestSeconds: (t1 - t0) / 1000, liquidateSeconds: (t2 - t1) / 1000, seconds: (t2 - t0) / 1000,
    published: service.stats.published, snapshots: service.stats.snapshots, batches: service.stats.batches, taskBytes: service.taskBytes, peakRssMb: mb(process.resourceUsage().maxRSS), samples, ledgerStats,
  };
}


async function main(): Promise<void> {
  if (values.child === 'parse') return void console.log(JSON.stringify(await parseChild(values.drop!)));
  if (values.child === 'pipeline') {
    const cache = values['ledger-cache'] !== undefined ? Number(values['ledger-cache']) : undefined;
    return void console.log(JSON.stringify(await pipelineChild(values.drop!, values.ref!, values.home!, Number(values.workers ?? 2), !values['no-fsync'], cache)));
  }
  const lines = Number(values.lines ?? 20_000);
  const workers = Number(values.workers ?? 2);
  const { dir, ref, drop } = await prepareDrop(lines, values.dir);
  cpSync(join(ref, `beneficiaries-${lines}.csv`), join(ref, 'beneficiaries.csv'));
  const home = mkdtempSync(join(dir, 'home-'));
  try {
    const parse = await runChild(import.meta.url, ['--child', 'parse', '--drop', drop]);
    const pipe = await runChild(import.meta.url, ['--child', 'pipeline', '--drop', drop, '--ref', ref, '--home', home, '--workers', String(workers), ...(values['no-fsync'] ? ['--no-fsync'] : []), ...(values['ledger-cache'] ? ['--ledger-cache', values['ledger-cache']] : []), ...(values['ledger-cache-mb'] ? ['--ledger-cache-mb', values['ledger-cache-mb']] : []), ...(values.live ? ['--live'] : []), ...(values['measure-tasks'] ? ['--measure-tasks'] : [])], values.live ? ['--expose-gc'] : []);
    const rows = [
      { run: 'bare parse (readDrop)', lines: parse.lines!, seconds: parse.seconds!, peakRssMb: parse.peakRssMb! },
      { run: `pipeline: ingest → bus → liquidation (${workers} workers)`, lines: pipe.lines!, seconds: pipe.seconds!, peakRssMb: pipe.peakRssMb! },
    ];
    for (const r of rows) console.log(`${r.run.padEnd(52)} ${String(r.lines).padStart(9)} lines ${r.seconds.toFixed(2).padStart(8)} s ${String(Math.round(r.lines / r.seconds)).padStart(8)} lines/s  peak RSS ${r.peakRssMb} MB`);
    const samples = (pipe as unknown as { samples: { rssMb: number; heapUsedMb: number; heapTotalMb: number; externalMb: number }[] }).samples;
    const row = (name: string, f: (x: (typeof samples)[number]) => number) => console.log(`  ${name.padEnd(28)} ${samples.map((x) => String(f(x)).padStart(5)).join(' ')}`);
    console.log('  MB at each tenth of the drop liquidated:');
    row('RSS (process)', (x) => x.rssMb);
    row('main heap total', (x) => x.heapTotalMb);
    row(values.live ? 'main heap used (after gc)' : 'main heap used', (x) => x.heapUsedMb);
    row('main external', (x) => x.externalMb);
    const ls = (pipe as unknown as { ledgerStats: { cached: number; cachedBytes: number; reads: number; hits: number; writes: number } }).ledgerStats;
    console.log(`  ledger cache at the end: ${ls.cached} families, ${(ls.cachedBytes / 1048576).toFixed(1)} MiB of text; ${ls.reads} store reads, ${ls.hits} hits, ${ls.writes} writes`);
    console.log(`  of which ingest ${pipe.ingestSeconds!.toFixed(2)} s, liquidation ${pipe.liquidateSeconds!.toFixed(2)} s; ${pipe.published} settlements, ${pipe.snapshots} ledger snapshots`);
    const { taskBytes: t, batches } = pipe as unknown as { taskBytes: { tasks: number; in: number; out: number; inParsed: number; transferred?: number; transferredIn?: number }; batches: number };
    const perLine = (n: number) => Math.round(n / pipe.lines!);
    const perBatch = (n: number) => Math.round(n / batches / 1024);
    if (t !== undefined && t.tasks > 0) {
      console.log(`  pool tasks (structured clone, v8.serialize), ${t.tasks} tasks over ${batches} batches:`);
      console.log(`    heads as text: ${perLine(t.in)} B in, ${perLine(t.out)} B out per line (cloned) + ${perLine(t.transferred ?? 0)} B transferred back (the texts, session 14), ${perLine(t.transferredIn ?? 0)} B transferred in (the lines' JSON, session 15), ${perBatch(t.in)} KiB in per batch`);
      console.log(`    same tasks with the heads parsed (before session 7): ${perLine(t.inParsed)} B in per line, ${perBatch(t.inParsed)} KiB in per batch`);
    }
    console.log(`  written per line (ingest + liquidation): ${pipe.writtenBytesPerLine} bytes to disk (/proc/self/io write_bytes), ${pipe.writeCallBytesPerLine} bytes through write calls (wchar)`);
    mkdirSync(join(root, 'bench', 'out'), { recursive: true });
    const report = { date: new Date().toISOString(), node: process.version, lines, workers, fsync: !values['no-fsync'], ledgerCache: values['ledger-cache'] ?? 'default', parse, pipeline: pipe };
    writeFileSync(join(root, 'bench', 'out', 'pipeline.json'), `${JSON.stringify(report, null, 2)}\n`);
    appendFileSync(join(dir, 'history.ndjson'), `${JSON.stringify(report)}\n`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
