import { appendFileSync, cpSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readDrop } from '../src/ingest/index.js';
import { publishSample } from '../src/pipeline/reference-store.js';
import { root, runChild } from './support.js';
import { generate, mb, runArgs, runEnv, runOnce, type RunResult } from './run-once.js';

/**
 * The whole `noemie run --once` on a generated drop (embedded bus, fsync on, `--workers 2`), in a
 * child process, beside a bare parse of the same drop in another child. Reports the run's own stage
 * timings (`run --once --json`), the child's peak RSS, the bytes it wrote (`/proc/<pid>/io`
 * write_bytes, polled) and the size of the home afterwards, per folder, per line.
 *
 *   npm run bench:run -- --lines 20000 [--workers 2] [--dir <dir>] [--keep] [--prepare] ["--node-flags=--max-semi-space-size=8 --trace-gc"] (the = form: a value that starts with a dash)
 * --prepare: make the home and print the `noemie run` command line, run nothing (for profilers).
 */
const { values } = parseArgs({
  options: {
    lines: { type: 'string' }, workers: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' },
    child: { type: 'string' }, drop: { type: 'string' }, prepare: { type: 'boolean' }, 'node-flags': { type: 'string' },
  },
});

async function parseChild(drop: string): Promise<object> {
  const t0 = performance.now();
  let lines = 0;
  for await (const part of readDrop(drop)) for await (const ev of part.events) if (ev.kind === 'line') lines += 1;
  return { lines, seconds: (performance.now() - t0) / 1000, peakRssMb: mb(process.resourceUsage().maxRSS) };
}

const nodeFlags = values['node-flags']?.split(/\s+/).filter(Boolean) ?? [];

/**
 * Peak anonymous and file-backed resident memory per stage: the stages are consecutive and end
 * `durationMs` after the run's start, which is (child wall − run duration) after the child's start
 * (module loading, the home opened), so each sample falls in the stage whose window holds it.
 */
function memoryByStage(run: RunResult): Record<string, { anonMb: number; fileMb: number; anonAtStartMb: number }> {
  const by: Record<string, { anonMb: number; fileMb: number; anonAtStartMb: number }> = {};
  let end = run.wallSeconds - run.json.seconds;
  const windows: [string, number, number][] = [['startup', 0, end]];
  for (const [stage, s] of Object.entries(run.json.stages)) windows.push([stage, end, (end += s)]);
  windows.push(['exit', end, Infinity]);
  for (const [stage, from, to] of windows) {
    const inside = run.samples.filter((x) => x.t >= from && x.t < to);
    // the stage's first sample: what it inherits from the stage before (a heap V8 has not shrunk yet)
    if (inside.length) by[stage] = { anonMb: Math.max(...inside.map((x) => x.anonMb)), fileMb: Math.max(...inside.map((x) => x.fileMb)), anonAtStartMb: inside[0]!.anonMb };
  }
  return by;
}

/** Allocated bytes (st_blocks) under `dir`, by the path's first `depth` levels. */
function sizes(dir: string, depth: number): Map<string, number> {
  const by = new Map<string, number>();
  const walk = (path: string, key: string, level: number) => {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      // bus/ and state/ by their sub-folder (topic, store), the rest by its top folder
      const deeper = level < 1 || (level < depth && (key === 'bus' || key === 'state' || key === 'payments'));
      for (const name of readdirSync(path)) walk(join(path, name), deeper ? (key ? `${key}/${name}` : name) : key, level + 1);
    } else {
      by.set(key, (by.get(key) ?? 0) + st.blocks * 512);
    }
  };
  walk(dir, '', 0);
  return by;
}

async function main(): Promise<void> {
  if (values.child === 'parse') return void console.log(JSON.stringify(await parseChild(values.drop!)));
  const lines = Number(values.lines ?? 20_000);
  const workers = Number(values.workers ?? 2);
  const dir = resolve(values.dir ?? join(tmpdir(), 'noemie-bench-run'));
  mkdirSync(dir, { recursive: true });
  const tg = performance.now();
  const gen = await generate(lines, dir);
  console.log(`drop: ${gen.drop} (${((performance.now() - tg) / 1000).toFixed(1)} s to generate, or reused)`);

  const home = join(dir, `home-${lines}`);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(join(home, 'inbox'), { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  await publishSample(home);
  cpSync(gen.drop, join(home, 'inbox', 'drop.csv'));
  cpSync(gen.claims, join(home, 'inbox', 'tp_claims.csv'));
  if (values.prepare) {
    const env = Object.entries(runEnv(home)).map(([k, v]) => `${k}=${v}`).join(' ');
    return void console.log(`${env} ${process.execPath} ${runArgs(home, gen, workers, nodeFlags).join(' ')}`);
  }

  const parse = await runChild(import.meta.url, ['--child', 'parse', '--drop', gen.drop]);
  console.log(`bare parse (readDrop): ${parse.lines} lines in ${parse.seconds!.toFixed(2)} s, ${Math.round(parse.lines! / parse.seconds!)} lines/s, peak RSS ${parse.peakRssMb} MB`);
  const before = sizes(home, 1);
  const run = await runOnce(home, gen, workers, nodeFlags);
  const after = sizes(home, 2);
  const n = run.json.lines || lines;
  const perLine = (b: number) => (b / n).toFixed(0);
  const homeBytes = [...after.values()].reduce((a, b) => a + b, 0) - [...before.values()].reduce((a, b) => a + b, 0);

  console.log(`\nnoemie run --once, ${n} lines, ${workers} workers, embedded bus (fsync on): ${run.json.seconds.toFixed(1)} s (${Math.round(n / run.json.seconds)} lines/s end to end), exit ${run.json.code}; child wall ${run.wallSeconds.toFixed(1)} s`);
  const cpuTotal = Object.values(run.json.cpuSeconds).reduce((a, b) => a + b, 0);
  console.log(`stage            wall s   lines/s   CPU s (all threads)   (load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  for (const [stage, s] of Object.entries(run.json.stages)) {
    console.log(`${stage.padEnd(15)} ${s.toFixed(2).padStart(8)} ${String(Math.round(n / Math.max(s, 0.001))).padStart(9)} ${run.json.cpuSeconds[stage]!.toFixed(2).padStart(9)}`);
  }
  console.log(`${'total'.padEnd(15)} ${run.json.seconds.toFixed(2).padStart(8)} ${String(Math.round(n / run.json.seconds)).padStart(9)} ${cpuTotal.toFixed(2).padStart(9)}`);
  console.log(`peak RSS ${run.json.peakRssMb} MB (VmHWM sampled ${run.vmHwmMb} MB); bare parse ${parse.peakRssMb} MB`);
  const memory = memoryByStage(run);
  console.log(`resident by stage, peak MB anonymous (heaps, buffers) / file-backed (mapped store pages): ${Object.entries(memory).map(([k, v]) => `${k} ${v.anonMb}/${v.fileMb}`).join(', ')}`);
  console.log(`anonymous MB at each stage's start: ${Object.entries(memory).map(([k, v]) => `${k} ${v.anonAtStartMb}`).join(', ')}`);
  console.log(`written to disk (write_bytes): ${(run.writeBytes / 1048576).toFixed(1)} MB, ${perLine(run.writeBytes)} B per line`);
  console.log(`home after the run minus the home before: ${(homeBytes / 1048576).toFixed(1)} MB, ${perLine(homeBytes)} B per line; by folder:`);
  const folders = [...after].filter(([k]) => !k.startsWith('inbox') && !k.startsWith('archive')).sort((a, b) => b[1] - a[1]);
  for (const [k, b] of folders.slice(0, 20)) console.log(`  ${k.padEnd(40)} ${(b / 1048576).toFixed(1).padStart(8)} MB ${perLine(b).padStart(7)} B/line`);

  const report = {
    date: new Date().toISOString(), node: process.version, lines: n, workers,
    parse, run: run.json, wallSeconds: run.wallSeconds, writeBytes: run.writeBytes, vmHwmMb: run.vmHwmMb, memory, homeBytes, folders: Object.fromEntries(folders),
  };
  mkdirSync(join(root, 'bench', 'out'), { recursive: true });
  writeFileSync(join(root, 'bench', 'out', `run-${n}.json`), `${JSON.stringify(report, null, 2)}\n`);
  appendFileSync(join(dir, 'history.ndjson'), `${JSON.stringify(report)}\n`);
  if (!values.keep) rmSync(home, { recursive: true, force: true });
}

await main();
