import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFixtures } from '../src/generate/index.js';

/** Shared by the end-to-end benchmarks (embedded and Kafka), so both measure the same drop. */

const here = dirname(fileURLToPath(import.meta.url));
/** the repository, whether this runs from bench/ (tsx) or dist/bench/ (compiled) */
export const root = resolve(here, existsSync(resolve(here, '../package.json')) ? '..' : '../..');

/**
 * Runs `script` again in a fresh child process (so its peak RSS is its own) and returns the JSON
 * object printed on its last stdout line.
 */
export function runChild(script: string, args: string[], nodeFlags: string[] = []): Promise<Record<string, number>> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NOEMIE_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>) : rej(new Error(`child exited ${code}: ${out}`))));
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
