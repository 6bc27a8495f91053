import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * The ingest stage of `noemie run --once` on its own, for one build: a CSV drop read, its rows
 * validated in the row decoder's worker thread, spooled and produced by the bus sink to
 * `decompte-lines` of an embedded bus (fsync on, as the run has it), lines keyed by the
 * membership (here the drop's beneficiaries.csv indexed in memory, not the home's LMDB store: the
 * same lookups for every build). Nothing consumes: the liquidation and the reconciliation that run
 * beside the ingest in `noemie run --once` are left out, so the figures are the stage's own work.
 *
 * Builds are compared by running this once per build, alternately (A B A B): `--dist` names the
 * build's dist folder, whose modules are loaded (an older build without the runs path is driven
 * line by line, as its `noemie run` does). Prints one JSON line: wall, process CPU (every thread:
 * the decoder's worker, libuv's and the GC's helpers included) and the main thread's CPU, peak RSS.
 *
 *   node dist/bench/ingest-stage.bench.js --dist <dist> --drop <csv> --beneficiaries <csv> [--dir <work>]
 * (bench/README.md "Session 14 — ingest")
 */
const { values } = parseArgs({
  options: { dist: { type: 'string' }, drop: { type: 'string' }, beneficiaries: { type: 'string' }, dir: { type: 'string' }, label: { type: 'string' } },
});
if (!values.dist || !values.drop || !values.beneficiaries) throw new Error('usage: --dist <dist> --drop <csv> --beneficiaries <csv> [--dir <work>] [--label <name>]');
const dist = resolve(values.dist);
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;

// Loaded from another build's dist: typed loosely on purpose (its signatures may differ from this checkout's).
type Module = Record<string, any>;
const { ingestDrop } = await load<Module>('src/ingest/ingest-drop.js');
const { BusIngestSink } = await load<Module>('src/pipeline/bus-sink.js');
const { RowDecodePool } = await load<Module>('src/pipeline/row-decoder.js');
const { openEmbeddedBus } = await load<Module>('src/bus/embedded/embedded-bus.js');
const { DropMarks } = await load<Module>('src/pipeline/publication-marks.js');
const { loadBeneficiaries } = await load<Module>('src/ingest/reference/beneficiaries.js');

const dir = resolve(values.dir ?? '/tmp/noemie-ingest-stage');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

/** CPU seconds of the main thread (utime + stime of its /proc task: Linux only) */
const mainCpu = () => {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const { index } = await loadBeneficiaries(values.beneficiaries);
const bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: true });
const pool = new RowDecodePool(); // its worker from the same dist
const sha256 = '0'.repeat(64);
const sink = new BusIngestSink(bus, { spoolDir: join(dir, 'spool'), members: index, drop: { sha256, marks: await DropMarks.open(join(dir, 'marks'), sha256) } });

const cpu0 = process.cpuUsage();
const main0 = mainCpu();
const t0 = performance.now();
const result = await ingestDrop(values.drop, { sink, sha256, decodeRows: pool.decode, ...(pool.decodeRuns ? { decodeRowRuns: pool.decodeRuns } : {}) });
await sink.close();
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const main = mainCpu() - main0;
await pool.close();
await bus.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  label: values.label ?? dist,
  lines: result.totals.accepted,
  expense: result.totals.expense,
  wall: +wall.toFixed(2),
  cpu: +((cpu.user + cpu.system) / 1e6).toFixed(2),
  main: +main.toFixed(2),
  peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
}));
