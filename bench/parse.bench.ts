import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readDrop } from '../src/ingest/index.js';
import { DEFAULT_WINDOW, buildPopulation, defaultFamilies, readNomenclature, writeDrop, type DropFormatOption } from '../src/generate/index.js';

/**
 * Parse benchmark (`npm run bench:parse`): lines/s of readDrop per encoding, and peak RSS at two
 * sizes, to show memory stays flat when the drop grows tenfold. Each measurement runs in a fresh
 * child process, so `process.resourceUsage().maxRSS` is that parse's peak and nothing else's.
 * Drops are generated once (seed 1) into the work directory and reused by later runs.
 *
 *   node --expose-gc dist/bench/parse.bench.js [--lines 100000,1000000] [--formats noemie,csv,xml,zip] [--dir <dir>]
 */
const FORMATS: readonly DropFormatOption[] = ['noemie', 'csv', 'xml', 'zip'];
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, existsSync(resolve(here, '../package.json')) ? '..' : '../..');

interface ChildResult {
  lines: number;
  rejects: number;
  parts: number;
  seconds: number;
  /** RSS once the modules are loaded, before the parse (MB) */
  baselineRssMb: number;
  peakRssMb: number;
}

interface Row extends ChildResult {
  format: DropFormatOption;
  size: number;
  fileMb: number;
  linesPerSecond: number;
}

async function child(path: string): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  const baseline = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  let lines = 0;
  let rejects = 0;
  let parts = 0;
  for await (const part of readDrop(path)) {
    parts += 1;
    for await (const ev of part.events) {
      if (ev.kind === 'line') lines += 1;
      else rejects += 1;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // maxRSS is in kilobytes
  const result: ChildResult = { lines, rejects, parts, seconds, baselineRssMb: baseline / 2 ** 20, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(path: string): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolvePromise(JSON.parse(out) as ChildResult) : reject(new Error(`child for ${path} exited with ${code}`))));
  });
}

async function ensureDrop(dir: string, format: DropFormatOption, lines: number): Promise<string> {
  const path = join(dir, `bench-${lines}.${format}`);
  // writeDrop renames a finished file into place: a file under the final name is complete.
  if (existsSync(path)) return path;
  const started = Date.now();
  const nomenclature = readNomenclature(join(root, 'fixtures', 'nomenclature.csv'));
  const population = buildPopulation(1, defaultFamilies(lines), DEFAULT_WINDOW);
  await writeDrop({ format, out: path, seed: 1, lines, bad: 0, population, nomenclature });
  process.stderr.write(`generated ${path} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return path;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { child: { type: 'string' }, lines: { type: 'string' }, formats: { type: 'string' }, dir: { type: 'string' } },
    strict: true,
  });
  if (values.child) return child(values.child);

  const sizes = (values.lines ?? '100000,1000000').split(',').map((s) => Number(s.replaceAll('_', '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--lines takes whole numbers, e.g. 100000,1000000; got ${values.lines}`);
  const formats = (values.formats ?? FORMATS.join(',')).split(',') as DropFormatOption[];
  for (const f of formats) if (!FORMATS.includes(f)) throw new Error(`unknown format ${f}; expected ${FORMATS.join(', ')}`);
  const dir = values.dir ?? join(tmpdir(), 'noemie-bench');
  mkdirSync(dir, { recursive: true });

  const rows: Row[] = [];
  for (const size of sizes) {
    for (const format of formats) {
      const path = await ensureDrop(dir, format, size);
      const r = await runChild(path);
      if (r.lines + r.rejects !== size) throw new Error(`${path}: read ${r.lines} lines and ${r.rejects} rejects, expected ${size} records`);
      const row: Row = { format, size, fileMb: statSync(path).size / 2 ** 20, linesPerSecond: r.lines / r.seconds, ...r };
      rows.push(row);
      process.stderr.write(`${format} ${size}: ${Math.round(row.linesPerSecond)} lines/s, peak RSS ${row.peakRssMb.toFixed(0)} MB\n`);
    }
  }
  print(rows, sizes);
  const outDir = join(root, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const meta = { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: (await import('node:os')).cpus().length, date: new Date().toISOString() };
  writeFileSync(join(outDir, 'parse.json'), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  process.stdout.write(`\nwritten ${join(outDir, 'parse.json')}\n`);
}

function print(rows: Row[], sizes: number[]): void {
  const header = ['format', 'lines', 'file MB', 'parse s', 'lines/s', 'baseline RSS MB', 'peak RSS MB'];
  const table = rows.map((r) => [r.format, String(r.size), r.fileMb.toFixed(1), r.seconds.toFixed(2), String(Math.round(r.linesPerSecond)), r.baselineRssMb.toFixed(0), r.peakRssMb.toFixed(0)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => (t[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${table.map(line).join('\n')}\n`);
  if (sizes.length >= 2) {
    const [small, big] = [Math.min(...sizes), Math.max(...sizes)];
    process.stdout.write(`\npeak RSS, ${big} vs ${small} lines (flat = bounded memory):\n`);
    for (const f of new Set(rows.map((r) => r.format))) {
      const a = rows.find((r) => r.format === f && r.size === small);
      const b = rows.find((r) => r.format === f && r.size === big);
      if (a && b) process.stdout.write(`  ${f.padEnd(6)} ${a.peakRssMb.toFixed(0)} MB → ${b.peakRssMb.toFixed(0)} MB (×${(b.peakRssMb / a.peakRssMb).toFixed(2)})\n`);
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
