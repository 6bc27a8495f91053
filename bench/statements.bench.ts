import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openEmbeddedBus, type EmbeddedBus } from '../src/bus/embedded/embedded-bus.js';
import { loadBeneficiaries } from '../src/ingest/reference/beneficiaries.js';
import { loadNomenclature } from '../src/ingest/reference/nomenclature.js';
import { StatementIndex, updateStatementIndex } from '../src/pipeline/statement-index.js';
import { settlementsForStatement } from '../src/pipeline/statement-source.js';
import { renderStatementHtml, renderStatementText, statementData, type StatementSettlement } from '../src/statement/index.js';
import { prepareDrop, root } from './support.js';

/**
 * The statement stage of `noemie run --once`, before and after the statement index, in one run on
 * the same home: a generated CSV drop (seed 1) taken through `noemie run --once --no-payments`
 * (embedded bus), then, in this process, every family's statement written
 *   topic        as before: each family reads its whole `settlements` partition (statement-source.ts)
 *   index, cold  a bench group builds a fresh index (in its own state store) from the whole topic, then reads it
 *   index, warm  the same again: nothing new to consume, one range scan per family
 * and the files of the three compared byte for byte.
 *
 *   npm run bench:statements -- [--lines 20000] [--dir <dir>] [--home <a home already run>]
 */
const { values } = parseArgs({ options: { lines: { type: 'string' }, dir: { type: 'string' }, home: { type: 'string' }, beneficiaries: { type: 'string' } } });

type Source = (adherentId: string) => Promise<StatementSettlement[]> | StatementSettlement[];

async function writeAll(out: string, families: Iterable<string>, source: Source, beneficiaries: Awaited<ReturnType<typeof loadBeneficiaries>>['index'], labels: Record<string, string>): Promise<number> {
  await mkdir(out, { recursive: true });
  let written = 0;
  for (const adherentId of families) {
    const settlements = await source(adherentId);
    if (settlements.length === 0) continue;
    const years = settlements.map((s) => s.careDate).sort();
    const data = statementData({ adherentId, from: years[0]!, to: years.at(-1)! }, settlements, beneficiaries.all(), labels);
    await writeFile(join(out, `${adherentId}.txt`), renderStatementText(data));
    await writeFile(join(out, `${adherentId}.html`), renderStatementHtml(data));
    written++;
  }
  return written;
}

function sameFiles(a: string, b: string): boolean {
  const names = readdirSync(a).sort();
  if (names.join() !== readdirSync(b).sort().join()) return false;
  return names.every((n) => readFileSync(join(a, n)).equals(readFileSync(join(b, n))));
}

function du(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, f) => s + du(join(path, f)), 0) : st.blocks * 512;
}

async function main(): Promise<void> {
  const lines = Number(values.lines ?? 20_000);
  let home = values.home ? resolve(values.home) : '';
  let beneficiariesFile = values.beneficiaries ? resolve(values.beneficiaries) : '';
  let runSeconds: number | null = null;
  if (!home) {
    const { dir, ref, drop } = await prepareDrop(lines, values.dir);
    home = join(dir, `home-statements-${lines}`);
    beneficiariesFile = join(ref, `beneficiaries-${lines}.csv`);
    rmSync(home, { recursive: true, force: true });
    mkdirSync(join(home, 'inbox'), { recursive: true });
    cpSync(drop, join(home, 'inbox', `drop-${lines}.csv`));
    const t = performance.now();
    const run = spawnSync(process.execPath, [join(root, 'bin', 'noemie.js'), 'run', '--once', '--no-payments', '--home', home, '--beneficiaries', beneficiariesFile, '--reference', ref, '--stable-ms', '0'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn' } });
    if (run.status !== 0) throw new Error(`noemie run exited ${run.status}`);
    runSeconds = (performance.now() - t) / 1000;
  }
  const { index: beneficiaries } = await loadBeneficiaries(beneficiariesFile);
  const nomenclature = await loadNomenclature(join(root, 'fixtures', 'nomenclature.csv'));
  const labels = Object.fromEntries(Object.entries(nomenclature).map(([code, e]) => [code, e.label]));
  const families = [...new Set([...beneficiaries.all()].map((b) => b.adherentId))];
  const scratch = join(tmpdir(), `noemie-bench-statements-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  const bus: EmbeddedBus = await openEmbeddedBus({ dir: join(home, 'bus') });
  const settlements = (await bus.endOffsets('settlements')).reduce((n, p) => n + p.high - p.low, 0);
  const group = `statements-bench-${process.pid}`;
  const index = await StatementIndex.open(join(scratch, 'index-home'));
  const all = { adherentId: '', from: '2000-01-01', to: '2099-12-31' };
  try {
    let t = performance.now();
    const written = await writeAll(join(scratch, 'topic'), families, (adherentId) => settlementsForStatement(bus, { ...all, adherentId }), beneficiaries, labels);
    const topicSeconds = (performance.now() - t) / 1000;

    t = performance.now();
    const cold = await updateStatementIndex(bus, index, { groupId: group });
    const buildSeconds = (performance.now() - t) / 1000;
    await writeAll(join(scratch, 'cold'), families, (adherentId) => index.settlementsIn({ ...all, adherentId }), beneficiaries, labels);
    const coldSeconds = (performance.now() - t) / 1000;

    t = performance.now();
    const warm = await updateStatementIndex(bus, index, { groupId: group });
    await writeAll(join(scratch, 'warm'), families, (adherentId) => index.settlementsIn({ ...all, adherentId }), beneficiaries, labels);
    const warmSeconds = (performance.now() - t) / 1000;

    const identical = sameFiles(join(scratch, 'topic'), join(scratch, 'cold')) && sameFiles(join(scratch, 'topic'), join(scratch, 'warm'));
    const result = {
      lines, settlements, families: families.length, statements: written, ...(runSeconds === null ? {} : { runSeconds: +runSeconds.toFixed(1) }),
      topicSeconds: +topicSeconds.toFixed(2), indexBuildSeconds: +buildSeconds.toFixed(2), coldSeconds: +coldSeconds.toFixed(2), coldConsumed: cold.consumed,
      warmSeconds: +warmSeconds.toFixed(2), warmConsumed: warm.consumed, indexStoreBytes: du(join(scratch, 'index-home', 'state')), identical,
    };
    console.log(JSON.stringify(result));
    if (!identical) process.exitCode = 1;
  } finally {
    await index.close();
    await bus.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
