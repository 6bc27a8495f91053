import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFixtures } from '../src/generate/index.js';
import type { Settlement } from '../src/model/settlement.js';

/** Shared by the end-to-end benchmarks (embedded and Kafka), so both measure the same drop. */

const here = dirname(fileURLToPath(import.meta.url));
/** the repository, whether this runs from bench/ (tsx) or dist/bench/ (compiled) */
export const root = resolve(here, existsSync(resolve(here, '../package.json')) ? '..' : '../..');

/**
 * Runs `script` again in a fresh child process (so its peak RSS is its own) and returns the JSON
 * object printed on its last stdout line that is one (node flags may print lines after it).
 */
export function runChild(script: string, args: string[], nodeFlags: string[] = [], stdoutFile?: string): Promise<Record<string, number>> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    // The last line that is a JSON object: node flags such as --trace-gc print on stdout too, even after it.
    const result = () => JSON.parse(out.trim().split('\n').findLast((l) => l.startsWith('{'))!) as Record<string, number>;
    // 'close', not 'exit': its stdout read to the end.
    child.once('close', (code) => {
      // What the child printed besides its result (--trace-gc and the like), kept when asked.
      if (stdoutFile !== undefined) appendFileSync(stdoutFile, out);
      if (code === 0) res(result());
      else rej(new Error(`child exited ${code}: ${out.slice(-4000)}`));
    });
  });
}

/**
 * The generated CSV drop of `lines` lines (seed 1) and its reference directory (grids,
 * nomenclature, PMSS, `beneficiaries-<lines>.csv`), generated once under `dir` and reused.
 */
export async function prepareDrop(lines: number, dirOption: string | undefined): Promise<{ dir: string; ref: string; drop: string }> {
  const dir = resolve(dirOption ?? join(tmpdir(), 'noemie-bench-pipeline'));
  const ref = join(dir, 'reference');
  const drop = join(dir, `drop-${lines}.csv`);
  if (!existsSync(drop)) {
    mkdirSync(ref, { recursive: true });
    cpSync(join(root, 'fixtures', 'grids'), join(ref, 'grids'), { recursive: true });
    cpSync(join(root, 'fixtures', 'nomenclature.csv'), join(ref, 'nomenclature.csv'));
    cpSync(join(root, 'fixtures', 'pmss.csv'), join(ref, 'pmss.csv'));
    await generateFixtures({ seed: 1, lines, format: 'csv', out: drop, nomenclaturePath: join(ref, 'nomenclature.csv'), beneficiaries: join(ref, `beneficiaries-${lines}.csv`) });
  }
  return { dir, ref, drop };
}

/** The benches' professional in tiers payant. */
export const BENCH_PS = '751234567';

/** A GP consultation in tiers payant (tp 15) paying the professional 19.00: the benches' settlement, with what each bench varies. */
export function tpSettlement(over: Pick<Settlement, 'lineKey' | 'beneficiary' | 'adherentId'> & Partial<Settlement>): Settlement {
  return {
    careDate: '2025-03-03',
    actCode: 'G',
    poste: 'soins.generalistes',
    status: 'paid',
    reason: null,
    expense: '40.00',
    roAmount: '21.00',
    amcAmount: '19.00',
    parts: [{ contract: 'CCN-HLA-OPT2', amount: '19.00' }],
    restToPay: '0.00',
    payee: `ps:${BENCH_PS}`,
    counters: [],
    version: 1,
    operation: 'I',
    tp: '15',
    psId: BENCH_PS,
    ...over,
  };
}
