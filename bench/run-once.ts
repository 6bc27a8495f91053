import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './support.js';
import type { CliOutput } from '../src/cli/output-schemas.js';

/**
 * What the whole-run benches share (run.bench.ts, history.bench.ts): a generated drop with its
 * reference files, and `noemie run --once --json` in a child with its memory and bytes sampled.
 */

export const mb = (kb: number) => Math.round(kb / 1024);
export const bin = join(root, 'bin', 'noemie.js');

export interface Generated { drop: string; beneficiaries: string; professionals: string; claims: string }

export interface GenerateOptions {
  /** the drop's seed (décompte and claim numbers are prefixed by it: drops of two seeds never share a line) */
  seed?: number;
  /** the population's size and seed: two drops of one population name the same families */
  families?: number;
  populationSeed?: number;
  /** the folder under `dir` (default `gen-<lines>`) */
  name?: string;
}

/** A CSV drop with its members, professionals' accounts and TP claims, generated once under `dir` (reused when already there). */
export function generate(lines: number, dir: string, o: GenerateOptions = {}): Promise<Generated> {
  const seed = o.seed ?? 1;
  const g = join(dir, o.name ?? `gen-${lines}`);
  const out: Generated = { drop: join(g, `drop-${seed}-${lines}.csv`), beneficiaries: join(g, 'beneficiaries.csv'), professionals: join(g, 'professionals.csv'), claims: join(g, 'tp_claims.csv') };
  if (existsSync(join(g, 'done'))) return Promise.resolve(out);
  rmSync(g, { recursive: true, force: true });
  mkdirSync(g, { recursive: true });
  const population = [...(o.families === undefined ? [] : ['--families', String(o.families)]), ...(o.populationSeed === undefined ? [] : ['--population-seed', String(o.populationSeed)])];
  const args = [bin, 'fixtures', 'generate', '--lines', String(lines), '--seed', String(seed), ...population, '--format', 'csv', '--out', `${g}/`, '--beneficiaries', out.beneficiaries, '--professionals', out.professionals, '--tp-claims-out', out.claims, '--json'];
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
/** one /proc/<pid>/status sample: seconds since the child started, anonymous (heaps, buffers) and file-backed (mapped store pages) resident MB */
export interface MemorySample { t: number; anonMb: number; fileMb: number }
export interface RunResult { json: { seconds: number; stages: Record<string, number>; cpuSeconds: Record<string, number>; lines: number; peakRssMb: number; code: number }; wallSeconds: number; writeBytes: number; vmHwmMb: number; samples: MemorySample[]; stdout: string }

export const runArgs = (home: string, gen: Generated, workers: number, nodeFlags: readonly string[] = []) => [...nodeFlags, bin, 'run', '--once', '--home', home, '--beneficiaries', gen.beneficiaries, '--professionals', gen.professionals, '--stable-ms', '0', '--workers', String(workers), '--http-port', '0', '--json'];
/** the per-run payment ceiling lifted (as the chaos harness does): the bench measures the run, not the controls */
export const runEnv = (home: string) => ({ NOEMIE_HOME: home, NOEMIE_LOG_LEVEL: 'warn', NOEMIE_PAYMENT_MAX_RUN: '999999999.99', TMPDIR: join(home, '..', 'tmp') });

/** `noemie run --once --json` in a child; /proc/<pid>/io and VmHWM sampled every 100 ms (the last sample before exit counts). */
export function runOnce(home: string, gen: Generated, workers: number, nodeFlags: readonly string[] = [], echo = true): Promise<RunResult> {
  const args = runArgs(home, gen, workers, nodeFlags);
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
      if (echo && end > shown) process.stdout.write(stdout.slice(shown, end).replace(/^(?=.)/gm, '  | '));
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
