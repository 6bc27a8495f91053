import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readDrop } from '../src/ingest/index.js';
import { publishSample } from '../src/pipeline/reference-store.js';
import { root, runChild } from './support.js';
import type { CliOutput } from '../src/cli/output-schemas.js';

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

const mb = (kb: number) => Math.round(kb / 1024);
const bin = join(root, 'bin', 'noemie.js');

async function parseChild(drop: string): Promise<object> {
  const t0 = performance.now();
  let lines = 0;
  for await (const part of readDrop(drop)) for await (const ev of part.events) if (ev.kind === 'line') lines += 1;
  return { lines, seconds: (performance.now() - t0) / 1000, peakRssMb: mb(process.resourceUsage().maxRSS) };
}

interface Generated { drop: string; beneficiaries: string; professionals: string; claims: string }

/** The drop (CSV, seed 1) with its members, professionals' accounts and TP claims, generated once under `dir`. */
function generate(lines: number, dir: string): Promise<Generated> {
  const g = join(dir, `gen-${lines}`);
  const out: Generated = { drop: join(g, `drop-1-${lines}.csv`), beneficiaries: join(g, 'beneficiaries.csv'), professionals: join(g, 'professionals.csv'), claims: join(g, 'tp_claims.csv') };
  if (existsSync(join(g, 'done'))) return Promise.resolve(out);
  rmSync(g, { recursive: true, force: true });
  mkdirSync(g, { recursive: true });
  const args = [bin, 'fixtures', 'generate', '--lines', String(lines), '--seed', '1', '--format', 'csv', '--out', `${g}/`, '--beneficiaries', out.beneficiaries, '--professionals', out.professionals, '--tp-claims-out', out.claims, '--json'];
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) => {
      if (code !== 0) return rej(new Error(`fixtures generate exited ${code}`));
      writeFileSync(join(g, 'done'), '');
      res(out);
    });
  });
}

type RunOnceDocument = CliOutput<'run'>;
/** one /proc/<pid>/status sample: seconds since the child started, anonymous (heaps, buffers) and file-backed (mapped LMDB pages) resident MB */
interface MemorySample { t: number; anonMb: number; fileMb: number }
interface RunResult { json: { seconds: number; stages: Record<string, number>; cpuSeconds: Record<string, number>; lines: number; peakRssMb: number; code: number }; wallSeconds: number; writeBytes: number; vmHwmMb: number; samples: MemorySample[]; stdout: string }

/** `noemie run --once --json` in a child; /proc/<pid>/io and VmHWM sampled every 100 ms (the last sample before exit counts). */
const nodeFlags = values['node-flags']?.split(/\s+/).filter(Boolean) ?? [];
const runArgs = (home: string, gen: Generated, workers: number) => [...nodeFlags, bin, 'run', '--once', '--home', home, '--beneficiaries', gen.beneficiaries, '--professionals', gen.professionals, '--stable-ms', '0', '--workers', String(workers), '--http-port', '0', '--json'];
/** the per-run payment ceiling lifted (as the chaos harness does): the bench measures the run, not the controls */
const runEnv = (home: string) => ({ NOEMIE_HOME: home, NOEMIE_LOG_LEVEL: 'warn', NOEMIE_PAYMENT_MAX_RUN: '999999999.99', TMPDIR: join(home, '..', 'tmp') });

function runOnce(home: string, gen: Generated, workers: number): Promise<RunResult> {
  const args = runArgs(home, gen, workers);
  const env = { ...process.env, ...runEnv(home) };
  mkdirSync(env.TMPDIR, { recursive: true });
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let writeBytes = 0;
    let vmHwmKb = 0;
    const samples: MemorySample[] = [];
    const sample = () => {
      try {
        const io = readFileSync(`/proc/${child.pid}/io`, 'utf8');
        writeBytes = Number(/write_bytes: (\d+)/.exec(io)?.[1] ?? writeBytes);
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        vmHwmKb = Math.max(vmHwmKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
        const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
        samples.push({ t: (performance.now() - t0) / 1000, anonMb: mb(kb('RssAnon')), fileMb: mb(kb('RssFile') + kb('RssShmem')) });
      } catch {
        // exited between two samples
      }
    };
    const timer = setInterval(sample, 100);
    let shown = 0;
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const end = stdout.lastIndexOf('\n') + 1;
      if (end > shown) process.stdout.write(stdout.slice(shown, end).replace(/^(?=.)/gm, '  | '));
      shown = Math.max(shown, end);
    });
    child.once('exit', (code) => {
      clearInterval(timer);
      // with --json, stdout holds the run's summary document alone (schemas/cli/run.schema.json)
      let doc: RunOnceDocument;
      try {
        doc = JSON.parse(stdout) as RunOnceDocument;
      } catch {
        return rej(new Error(`noemie run exited ${code} without its JSON summary`));
      }
      const stages = Object.fromEntries(Object.entries(doc.stages).map(([k, v]) => [k, v.seconds]));
      const cpuSeconds = Object.fromEntries(Object.entries(doc.stages).map(([k, v]) => [k, v.cpuSeconds]));
      const json = { seconds: doc.durationMs / 1000, stages, cpuSeconds, lines: doc.liquidation.lines, peakRssMb: doc.peakRssMb, code: doc.exitCode };
      res({ json, wallSeconds: (performance.now() - t0) / 1000, writeBytes, vmHwmMb: mb(vmHwmKb), samples, stdout });
    });
  });
}

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
    return void console.log(`${env} ${process.execPath} ${runArgs(home, gen, workers).join(' ')}`);
  }

  const parse = await runChild(import.meta.url, ['--child', 'parse', '--drop', gen.drop]);
  console.log(`bare parse (readDrop): ${parse.lines} lines in ${parse.seconds!.toFixed(2)} s, ${Math.round(parse.lines! / parse.seconds!)} lines/s, peak RSS ${parse.peakRssMb} MB`);
  const before = sizes(home, 1);
  const run = await runOnce(home, gen, workers);
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
