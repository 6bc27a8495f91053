import { createReadStream, readFileSync, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { command as liquidate } from '../src/cli/commands/liquidate.js';
import { readDrop } from '../src/ingest/index.js';
import { prepareDrop, runChild } from './support.js';

/**
 * `noemie liquidate` (no bus) against a bare csv-parse of the same drop (issue 12: "≥ 0.8× bare
 * csv-parse"), each in a fresh child process of the same run, so CPU and peak RSS are its own:
 *   - csv-parse: the file through csv-parse alone, records counted (no validation);
 *   - readDrop: the project's parser (csv-parse, then every field checked with zod);
 *   - liquidate --workers N: the whole command, settlements written to a file.
 * The check: the settlements of `--workers N` are byte for byte those of `--workers 0` (the same
 * shard code in one thread); the kernel against the decimal engine is bench:liquidate's check.
 *
 *   node dist/bench/liquidate-cli.bench.js [--lines 200000] [--workers 2] [--dir <dir>]
 */
const { values } = parseArgs({ options: { lines: { type: 'string' }, workers: { type: 'string' }, dir: { type: 'string' }, child: { type: 'string' }, drop: { type: 'string' }, ref: { type: 'string' }, out: { type: 'string' } } });

interface Measured { lines: number; seconds: number; cpuSeconds: number; peakRssMb: number }

function measured(lines: number, t0: number, cpu0: NodeJS.CpuUsage): Measured {
  const cpu = process.cpuUsage(cpu0);
  return { lines, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

async function child(kind: string, drop: string): Promise<Measured> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let lines = 0;
  if (kind === 'csv-parse') {
    for await (const _ of createReadStream(drop).pipe(parse({ delimiter: ';', from_line: 2 }))) lines += 1;
  } else if (kind === 'read-drop') {
    for await (const part of readDrop(drop)) for await (const ev of part.events) if (ev.kind === 'line') lines += 1;
  } else {
    const ref = values.ref!;
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const code = await liquidate.run(['--in', drop, '--out', values.out!, '--workers', kind.split(':')[1]!, '--as-of', '2026-01-01', '--beneficiaries', join(ref, `beneficiaries-${values.lines}.csv`), '--grids', join(ref, 'grids'), '--nomenclature', join(ref, 'nomenclature.csv'), '--pmss', join(ref, 'pmss.csv')], { out: sink, err: sink });
    if (code !== 0) throw new Error(`noemie liquidate exited ${code}`);
    lines = readFileSync(values.out!, 'utf8').split('\n').length - 1;
  }
  return measured(lines, t0, cpu0);
}

async function main(): Promise<void> {
  if (values.child) {
    process.stdout.write(`${JSON.stringify(await child(values.child, values.drop!))}\n`);
    return;
  }
  const lines = Number(values.lines ?? 200_000);
  const workers = values.workers ?? '2';
  const { dir, ref, drop } = await prepareDrop(lines, values.dir);
  const script = new URL(import.meta.url);
  const run = (kind: string, out = '') => runChild(script.href, ['--child', kind, '--drop', drop, '--ref', ref, '--lines', String(lines), '--out', out]) as Promise<unknown> as Promise<Measured>;
  const outN = join(dir, `settlements-${lines}-w${workers}.ndjson`);
  const out0 = join(dir, `settlements-${lines}-w0.ndjson`);
  const rows: [string, Measured][] = [
    ['csv-parse (bare)', await run('csv-parse')],
    ['readDrop (parse + zod)', await run('read-drop')],
    [`noemie liquidate --workers ${workers}`, await run(`liquidate:${workers}`, outN)],
    ['noemie liquidate --workers 0', await run('liquidate:0', out0)],
  ];
  const same = readFileSync(outN).equals(readFileSync(out0));
  const bare = rows[0]![1];
  console.log(`drop ${drop}: ${lines} lines, ${(statSync(drop).size / 2 ** 20).toFixed(1)} MB; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| run | lines | wall s | lines/s | × bare (wall) | CPU s | lines per CPU s | × bare (CPU) | peak RSS MB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, m] of rows) {
    console.log(`| ${name} | ${m.lines} | ${m.seconds.toFixed(2)} | ${Math.round(m.lines / m.seconds)} | ${(bare.seconds / m.seconds).toFixed(3)} | ${m.cpuSeconds.toFixed(2)} | ${Math.round(m.lines / m.cpuSeconds)} | ${(bare.cpuSeconds / m.cpuSeconds).toFixed(3)} | ${m.peakRssMb} |`);
  }
  console.log(`check: settlements of --workers ${workers} ${same ? 'identical to' : 'DIFFER from'} --workers 0`);
  if (!same) process.exitCode = 1;
}

await main();
