import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { publishSample } from '../src/pipeline/reference-store.js';
import { root } from './support.js';
import { bin, generate, runEnv, runOnce, type Generated, type RunResult } from './run-once.js';

/**
 * Does the cost of the work a home is given grow with the home's history? (issue 12: "a payment
 * run over N new settlements, a statement for one family, a replay of one partition range, a
 * restart" must cost what they are given, not the past.) The same operations on homes that differ
 * only in their history — one population (`--families`, population seed 1), history drops of
 * `--histories` lines (seed 1), then the same new drop of `--new` lines (seed 2: its décomptes and
 * claims never name a history line) — each in a child process, its CPU taken from this process's
 * reaped-children times (/proc/self/stat cutime + cstime, every thread of the child):
 *   1. a restart with nothing new (`run --once`, empty inbox);
 *   2. the new drop (`run --once`): its stages' CPU;
 *   3. one family's statement over all dates (`noemie statement`), with the lines it prints;
 *   4. a dry-run replay of the last `--replay` offsets of decompte-lines partition 0.
 * The ratio column is the largest history's figure over the smallest's. A statement prints the
 * family's whole history, so its cost per line printed is the figure to compare.
 *
 *   npm run bench:history -- [--histories 20000,100000] [--new 2000] [--families 2500] [--replay 1000] [--workers 2] [--dir D] [--keep]
 */
const { values } = parseArgs({
  options: {
    histories: { type: 'string', default: '20000,100000' }, new: { type: 'string', default: '2000' }, families: { type: 'string', default: '2500' },
    replay: { type: 'string', default: '1000' }, workers: { type: 'string', default: '2' }, dir: { type: 'string' }, keep: { type: 'boolean' },
    adherent: { type: 'string', default: 'ADH0000001' },
  },
});
const histories = values.histories.split(',').map(Number);
const newLines = Number(values.new);
const families = Number(values.families);
const replayCount = Number(values.replay);
const workers = Number(values.workers);
if (histories.some((h) => !(h > 0)) || !(newLines > 0) || !(families > 0) || !(replayCount > 0)) throw new Error('--histories, --new, --families and --replay are positive integers');

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
/** CPU seconds of this process's children that have been waited for (every thread of each) */
function reapedChildrenCpu(): number {
  // the command name (field 2) may hold spaces: count the fields after its closing parenthesis
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond; // cutime, cstime (fields 16, 17)
}

/** a noemie command in a child: its JSON document and the CPU seconds it used */
function noemie(home: string, args: string[]): Promise<{ doc: Record<string, unknown>; cpu: number }> {
  const before = reapedChildrenCpu();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [bin, ...args, '--home', home, '--json'], { cwd: root, env: { ...process.env, ...runEnv(home) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    child.once('exit', (code) => {
      const cpu = reapedChildrenCpu() - before;
      if (code !== 0) return rej(new Error(`noemie ${args.join(' ')} exited ${code}`));
      res({ doc: JSON.parse(out) as Record<string, unknown>, cpu });
    });
  });
}

async function timedRun(home: string, gen: Generated): Promise<{ run: RunResult; cpu: number }> {
  const before = reapedChildrenCpu();
  const run = await runOnce(home, gen, workers, [], false);
  return { run, cpu: reapedChildrenCpu() - before };
}

interface Figures { restart: { cpu: number; stages: Record<string, number> }; newDrop: { cpu: number; stages: Record<string, number>; writeBytes: number; lines: number }; statement: { cpu: number; lines: number }; replay: { cpu: number; read: number } }

async function measure(dir: string, history: number, next: Generated): Promise<Figures> {
  const gen = await generate(history, dir, { seed: 1, families, populationSeed: 1, name: `gen-h${history}-f${families}` });
  const home = join(dir, `home-h${history}`);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(join(home, 'inbox'), { recursive: true });
  await publishSample(home);
  cpSync(gen.drop, join(home, 'inbox', 'drop.csv'));
  cpSync(gen.claims, join(home, 'inbox', 'tp_claims.csv'));
  const first = await timedRun(home, gen);
  console.log(`history ${history}: ${first.run.json.lines} lines liquidated in ${first.run.json.seconds.toFixed(1)} s (${first.cpu.toFixed(1)} CPU s) — the history, not measured`);

  const restart = await timedRun(home, gen);
  cpSync(next.drop, join(home, 'inbox', 'drop-2.csv'));
  cpSync(next.claims, join(home, 'inbox', 'tp_claims-2.csv'));
  const added = await timedRun(home, gen);
  const statement = await noemie(home, ['statement', '--adherent', values.adherent, '--from', '2000-01-01', '--to', '2099-12-31']);
  const topics = (await noemie(home, ['topics'])).doc as { topics: { topic: string; partitions: { partition: number; high: number }[] }[] };
  const high = topics.topics.find((t) => t.topic === 'decompte-lines')!.partitions.find((p) => p.partition === 0)!.high;
  const replay = await noemie(home, ['replay', '--topic', 'decompte-lines', '--partition', '0', '--from', String(Math.max(0, high - replayCount)), '--to', String(high), '--dry-run']);
  if (!values.keep) rmSync(home, { recursive: true, force: true });
  return {
    restart: { cpu: restart.cpu, stages: restart.run.json.cpuSeconds },
    newDrop: { cpu: added.cpu, stages: added.run.json.cpuSeconds, writeBytes: added.run.writeBytes, lines: added.run.json.lines },
    statement: { cpu: statement.cpu, lines: Number(statement.doc.lines) },
    replay: { cpu: replay.cpu, read: Number(replay.doc.read) },
  };
}

async function main(): Promise<void> {
  const dir = resolve(values.dir ?? join(tmpdir(), 'noemie-bench-history'));
  mkdirSync(dir, { recursive: true });
  const next = await generate(newLines, dir, { seed: 2, families, populationSeed: 1, name: `gen-new${newLines}-f${families}` });
  const figures: Figures[] = [];
  for (const h of histories) figures.push(await measure(dir, h, next));

  const first = figures[0]!;
  const last = figures[figures.length - 1]!;
  const row = (what: string, pick: (f: Figures) => number, digits = 2) => {
    const cells = figures.map((f) => pick(f).toFixed(digits).padStart(16));
    const ratio = pick(first) > 0 ? (pick(last) / pick(first)).toFixed(2) : '–';
    console.log(`${what.padEnd(44)}${cells.join('')}${ratio.padStart(8)}`);
  };
  console.log(`\nthe same work on homes of ${histories.join(' / ')} history lines (${families} families; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log(`${'CPU s (every thread of the child)'.padEnd(44)}${histories.map((h) => `history ${h}`.padStart(16)).join('')}${'ratio'.padStart(8)}`);
  row('restart, nothing new', (f) => f.restart.cpu);
  for (const stage of Object.keys(last.restart.stages)) row(`  ${stage}`, (f) => f.restart.stages[stage] ?? 0);
  row(`new drop of ${newLines} lines: whole run`, (f) => f.newDrop.cpu);
  for (const stage of Object.keys(last.newDrop.stages)) row(`  ${stage}`, (f) => f.newDrop.stages[stage] ?? 0);
  row('  written, KB', (f) => f.newDrop.writeBytes / 1024, 0);
  row(`one family's statement (${values.adherent})`, (f) => f.statement.cpu);
  row('  lines it prints', (f) => f.statement.lines, 0);
  row('  ms per line printed', (f) => (1000 * f.statement.cpu) / Math.max(1, f.statement.lines));
  row(`dry-run replay of ${replayCount} offsets`, (f) => f.replay.cpu);
}

await main();
